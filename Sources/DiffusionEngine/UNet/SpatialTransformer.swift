import LLMEngine
import LLMKernels

/// The UNet's attention block (diffusers' `Transformer2DModel`): the map normalized and projected
/// to tokens, transformer blocks of self-attention, cross-attention to the text and a GEGLU
/// feed-forward, projected back and added to the input.
struct SpatialTransformer: Sendable {
    struct Block: Sendable {
        let norm1: LayerNorm
        var selfQuery: Linear
        var selfKey: Linear
        var selfValue: Linear
        var selfOutput: Linear
        let norm2: LayerNorm
        var crossQuery: Linear
        var crossKey: Linear
        var crossValue: Linear
        var crossOutput: Linear
        let norm3: LayerNorm
        var feedForwardIn: Linear
        var feedForwardOut: Linear

        init(_ w: Weights) throws(DiffusionError) {
            norm1 = try LayerNorm(w, "norm1")
            selfQuery = try Linear(w, "attn1.to_q")
            selfKey = try Linear(w, "attn1.to_k")
            selfValue = try Linear(w, "attn1.to_v")
            selfOutput = try Linear(w, "attn1.to_out.0")
            norm2 = try LayerNorm(w, "norm2")
            crossQuery = try Linear(w, "attn2.to_q")
            crossKey = try Linear(w, "attn2.to_k")
            crossValue = try Linear(w, "attn2.to_v")
            crossOutput = try Linear(w, "attn2.to_out.0")
            norm3 = try LayerNorm(w, "norm3")
            feedForwardIn = try Linear(w, "ff.net.0.proj")
            feedForwardOut = try Linear(w, "ff.net.2")
        }
    }

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
    var contextWidth: Int { blocks.first?.crossKey.inputs ?? 0 }

    func callAsFunction(_ x: FeatureMap, context: [Float], contextCount: Int, pool: ComputePool) -> FeatureMap {
        let count = x.pixels, width = projectIn.outputs
        var tokens = projectIn(norm(x, pool: pool).tokenRows(), rows: count, pool: pool)
        for block in blocks {
            var normed = block.norm1(tokens, rows: count, pool: pool)
            var attended = Attention.callAsFunction(
                queries: block.selfQuery(normed, rows: count, pool: pool), keys: block.selfKey(normed, rows: count, pool: pool),
                values: block.selfValue(normed, rows: count, pool: pool), queryCount: count, keyCount: count,
                width: width, heads: heads, precision: block.selfQuery.weight.precision, pool: pool)
            block.selfOutput.add(attended, rows: count, to: &tokens, pool: pool)

            normed = block.norm2(tokens, rows: count, pool: pool)
            attended = Attention.callAsFunction(
                queries: block.crossQuery(normed, rows: count, pool: pool),
                keys: block.crossKey(context, rows: contextCount, pool: pool),
                values: block.crossValue(context, rows: contextCount, pool: pool), queryCount: count,
                keyCount: contextCount, width: width, heads: heads, precision: block.crossQuery.weight.precision,
                pool: pool)
            block.crossOutput.add(attended, rows: count, to: &tokens, pool: pool)

            FeedForward.add(block.norm3(tokens, rows: count, pool: pool), rows: count, through: block.feedForwardIn,
                            block.feedForwardOut, to: &tokens, pool: pool)
        }
        var out = x.fromTokenRows(projectOut(tokens, rows: count, pool: pool), channels: projectOut.outputs)
        out.add(x)
        return out
    }
}
