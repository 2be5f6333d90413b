import LLMEngine

/// The autoencoder's decoder (CompVis layout, `first_stage_model.`): latents scaled back, a 1×1
/// convolution, a middle of two residual blocks around single-head attention, levels of residual
/// blocks with nearest-neighbour upsampling between them, and a normalized convolution to RGB.
public struct VAEDecoder: Sendable {
    struct Level: Sendable {
        let blocks: [ResBlock]
        let upsample: Conv2D?
    }

    let postQuantConv: Conv2D
    let convIn: Conv2D
    let middle1: ResBlock
    let attentionNorm: GroupNorm
    let query: Linear
    let key: Linear
    let value: Linear
    let projectOut: Linear
    let middle2: ResBlock
    /// From the lowest resolution up (CompVis numbers them the other way).
    let levels: [Level]
    let outNorm: GroupNorm
    let convOut: Conv2D
    public let scalingFactor: Float
    public let latentChannels: Int

    /// `weights` scoped at `first_stage_model`.
    public init(_ weights: Weights, scalingFactor: Float = 0.18215) throws(DiffusionError) {
        postQuantConv = try Conv2D(weights, "post_quant_conv")
        latentChannels = postQuantConv.inputs
        let decoder = weights.scoped("decoder")
        convIn = try Conv2D(decoder, "conv_in")
        middle1 = try ResBlock(decoder.scoped("mid.block_1"), naming: .vae)
        let attention = decoder.scoped("mid.attn_1")
        attentionNorm = try GroupNorm(attention, "norm", epsilon: 1e-6)
        query = try Linear(attention, "q")
        key = try Linear(attention, "k")
        value = try Linear(attention, "v")
        projectOut = try Linear(attention, "proj_out")
        middle2 = try ResBlock(decoder.scoped("mid.block_2"), naming: .vae)
        var levels: [Level] = []
        var index = 0
        while decoder.has("up.\(index).block.0.conv1.weight") {
            let level = decoder.scoped("up.\(index)")
            var blocks: [ResBlock] = []
            while level.has("block.\(blocks.count).conv1.weight") {
                blocks.append(try ResBlock(level.scoped("block.\(blocks.count)"), naming: .vae))
            }
            levels.append(Level(blocks: blocks, upsample: level.has("upsample.conv.weight") ? try Conv2D(level, "upsample.conv") : nil))
            index += 1
        }
        guard !levels.isEmpty else { throw .missingTensor(decoder.prefix + "up.0.block.0.conv1.weight") }
        self.levels = levels.reversed()
        outNorm = try GroupNorm(decoder, "norm_out", epsilon: 1e-6)
        convOut = try Conv2D(decoder, "conv_out")
        self.scalingFactor = scalingFactor
    }

    /// How many pixels one latent value spans per side.
    public var upscale: Int { 1 << levels.filter { $0.upsample != nil }.count }

    /// RGB in [-1, 1] (before clamping) for `latent` as the sampler left it; `checkpoint` runs
    /// between levels, and what it throws stops the decoding.
    public func decode(_ latent: FeatureMap, pool: ComputePool, checkpoint: () throws -> Void = {}) rethrows -> FeatureMap {
        var x = latent
        for i in x.values.indices { x.values[i] /= scalingFactor }
        var h = convIn(postQuantConv(x, pool: pool), pool: pool)
        h = middle1(h, timestep: nil, pool: pool)
        h = attend(h, pool: pool)
        h = middle2(h, timestep: nil, pool: pool)
        for level in levels {
            try checkpoint()
            for block in level.blocks { h = block(h, timestep: nil, pool: pool) }
            if let upsample = level.upsample { h = upsample(h.resizedNearest(height: h.height * 2, width: h.width * 2), pool: pool) }
        }
        return convOut(outNorm(h, silu: true, pool: pool), pool: pool)
    }

    private func attend(_ x: FeatureMap, pool: ComputePool) -> FeatureMap {
        let tokens = attentionNorm(x, pool: pool).tokenRows(), count = x.pixels
        let attended = Attention.callAsFunction(
            queries: query(tokens, rows: count, pool: pool), keys: key(tokens, rows: count, pool: pool),
            values: value(tokens, rows: count, pool: pool), queryCount: count, keyCount: count, width: x.channels,
            heads: 1, precision: query.weight.precision, pool: pool)
        var out = x.fromTokenRows(projectOut(attended, rows: count, pool: pool), channels: x.channels)
        out.add(x)
        return out
    }
}
