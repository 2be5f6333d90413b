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
        let count = x.pixels, width = projectIn.outputs
        var tokens = projectIn(norm(x, pool: pool).tokenRows(), rows: count, pool: pool)
        for block in blocks {
            var normed = block.norm1(tokens, rows: count, pool: pool)
            let own = block.attention1
            var attended = Attention.callAsFunction(
                queries: own.query(normed, rows: count, pool: pool), keys: own.key(normed, rows: count, pool: pool),
                values: own.value(normed, rows: count, pool: pool), queryCount: count, keyCount: count,
                width: width, heads: heads, precision: own.query.weight.precision, pool: pool)
            own.output.add(attended, rows: count, to: &tokens, pool: pool)

            normed = block.norm2(tokens, rows: count, pool: pool)
            let text = block.attention2
            attended = Attention.callAsFunction(
                queries: text.query(normed, rows: count, pool: pool), keys: text.key(context, rows: contextCount, pool: pool),
                values: text.value(context, rows: contextCount, pool: pool), queryCount: count, keyCount: contextCount,
                width: width, heads: heads, precision: text.query.weight.precision, pool: pool)
            text.output.add(attended, rows: count, to: &tokens, pool: pool)

            FeedForward.add(block.norm3(tokens, rows: count, pool: pool), rows: count, through: block.feedForwardIn,
                            block.feedForwardOut, to: &tokens, pool: pool)
        }
        var out = x.fromTokenRows(projectOut(tokens, rows: count, pool: pool), channels: projectOut.outputs)
        out.add(x)
        return out
    }
}
