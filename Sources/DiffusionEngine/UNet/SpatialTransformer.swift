import LLMEngine
import LLMKernels

/// The UNet's attention block (diffusers' `Transformer2DModel`): the map normalized and projected
/// to tokens, transformer blocks of self-attention, cross-attention to the text and a GEGLU
/// feed-forward, projected back and added to the input.
struct SpatialTransformer: Sendable {
    typealias Block = TransformerBlock

    let norm: GroupNorm
    var projectIn: Linear
    var blocks: [Block]
    var projectOut: Linear
    let heads: Int

    /// `heads`: how many heads for a width (SD 1.x: always 8; SD 2.x and SDXL: 64 values each).
    init(_ weights: Weights, heads: (Int) -> Int) throws(DiffusionError) {
        norm = try GroupNorm(weights, "norm", epsilon: 1e-6)
        projectIn = try Linear(weights, "proj_in")
        var blocks: [Block] = []
        while weights.has("transformer_blocks.\(blocks.count).norm1.weight") {
            blocks.append(try Block(weights.scoped("transformer_blocks.\(blocks.count)")))
        }
        self.blocks = blocks
        projectOut = try Linear(weights, "proj_out")
        self.heads = heads(projectIn.outputs)
    }

    /// The text's width, which cross-attention's keys read.
    var contextWidth: Int { blocks.first?.attention2.key.inputs ?? 0 }

    func callAsFunction(_ x: FeatureMap, context: [Float], contextCount: Int, pool: ComputePool) -> FeatureMap {
        callAsFunction(frames: [x], context: context, contextCount: contextCount, pool: pool)[0]
    }

    /// Each frame through the block: the frames' tokens go through the linear layers as one matrix
    /// (weights packed once for all), each frame attends to itself, and the text's keys and
    /// values are computed once for every frame.
    func callAsFunction(frames: [FeatureMap], context: [Float], contextCount: Int, pool: ComputePool) -> [FeatureMap] {
        let count = frames[0].pixels, width = projectIn.outputs, rows = frames.count * count
        var tokens = projectIn(frames.flatMap { norm($0, pool: pool).tokenRows() }, rows: rows, pool: pool)
        for block in blocks {
            var normed = block.norm1(tokens, rows: rows, pool: pool)
            let own = block.attention1
            var attended = Attention.callAsFunction(
                queries: own.query(normed, rows: rows, pool: pool), keys: own.key(normed, rows: rows, pool: pool),
                values: own.value(normed, rows: rows, pool: pool), queryCount: count, keyCount: count,
                width: width, heads: heads, frames: frames.count, precision: own.query.weight.precision, pool: pool)
            own.output.add(attended, rows: rows, to: &tokens, pool: pool)

            normed = block.norm2(tokens, rows: rows, pool: pool)
            let text = block.attention2
            attended = Attention.callAsFunction(
                queries: text.query(normed, rows: rows, pool: pool), keys: text.key(context, rows: contextCount, pool: pool),
                values: text.value(context, rows: contextCount, pool: pool), queryCount: count, keyCount: contextCount,
                width: width, heads: heads, frames: frames.count, sharedKeys: true,
                precision: text.query.weight.precision, pool: pool)
            text.output.add(attended, rows: rows, to: &tokens, pool: pool)

            FeedForward.add(block.norm3(tokens, rows: rows, pool: pool), rows: rows, through: block.feedForwardIn,
                            block.feedForwardOut, to: &tokens, pool: pool)
        }
        let projected = projectOut(tokens, rows: rows, pool: pool)
        return frames.enumerated().map { f, x in
            var out = x.fromTokenRows(projected, first: f * count, channels: projectOut.outputs)
            out.add(x)
            return out
        }
    }
}
