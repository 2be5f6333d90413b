import Foundation
import LLMEngine

/// Stable Diffusion's denoising UNet in CompVis's layout (AUTOMATIC1111's single files): its
/// structure is read from which tensors exist — how many input blocks, which hold attention, where
/// it downsamples — so SD 1.x and the distilled models with blocks removed load alike.
public struct UNetModel: Sendable {
    enum Layer: Sendable {
        case resnet(ResBlock)
        case transformer(SpatialTransformer)
        case downsample(Conv2D)
        case upsample(Conv2D)
    }

    var timeLinear1: Linear
    var timeLinear2: Linear
    /// SDXL's embedding of its extra conditioning (`label_emb`: the pooled text and the image
    /// sizes), added to the timestep's.
    var labelLinear1: Linear?
    var labelLinear2: Linear?
    var convIn: Conv2D
    var inputBlocks: [[Layer]]
    var middleBlock: [Layer]
    var outputBlocks: [[Layer]]
    let outNorm: GroupNorm
    var convOut: Conv2D
    public let contextWidth: Int
    public let inChannels: Int

    /// `weights` scoped at `model.diffusion_model`. `headWidth`: the attention heads' width when the
    /// model's family fixes it (SD 2.x: 64); nil reads the family from the text width (SD 1.x's
    /// 768: eight heads; 1024 and more: 64-wide heads).
    /// `headCount`: a fixed number of heads at every level, when the file says so.
    public init(_ weights: Weights, headWidth: Int? = nil, headCount: Int? = nil) throws(DiffusionError) {
        timeLinear1 = try Linear(weights, "time_embed.0")
        timeLinear2 = try Linear(weights, "time_embed.2")
        if weights.has("label_emb.0.0.weight") {
            labelLinear1 = try Linear(weights, "label_emb.0.0")
            labelLinear2 = try Linear(weights, "label_emb.0.2")
        }
        convIn = try Conv2D(weights, "input_blocks.0.0")
        inChannels = convIn.inputs
        // SD 2.x and SDXL read 1024- and 2048-wide text and use 64-wide heads; SD 1.x has 8 heads.
        guard let context = Self.contextWidth(weights) else {
            throw .unsupported("\(weights.prefix): no cross-attention found; not a Stable Diffusion UNet")
        }
        contextWidth = context
        let heads: (Int) -> Int
        if let headCount {
            heads = { _ in headCount }
        } else if let headWidth {
            heads = { max(1, $0 / headWidth) }
        } else {
            heads = context >= 1024 ? { max(1, $0 / 64) } : { _ in 8 }
        }

        func layers(_ block: Weights) throws(DiffusionError) -> [Layer] {
            var layers: [Layer] = []
            var index = 0
            while true {
                let part = block.scoped("\(index)")
                if part.has("in_layers.0.weight") {
                    layers.append(.resnet(try ResBlock(part, naming: .unet)))
                } else if part.has("norm.weight") && part.has("proj_in.weight") {
                    layers.append(.transformer(try SpatialTransformer(part, heads: heads)))
                } else if part.has("op.weight") {
                    layers.append(.downsample(try Conv2D(part, "op", stride: 2)))
                } else if part.has("conv.weight") {
                    layers.append(.upsample(try Conv2D(part, "conv")))
                } else {
                    return layers
                }
                index += 1
            }
        }
        var inputs: [[Layer]] = []
        while case let block = try layers(weights.scoped("input_blocks.\(inputs.count + 1)")), !block.isEmpty {
            inputs.append(block)
        }
        inputBlocks = inputs
        middleBlock = try layers(weights.scoped("middle_block"))
        var outputs: [[Layer]] = []
        while case let block = try layers(weights.scoped("output_blocks.\(outputs.count)")), !block.isEmpty {
            outputs.append(block)
        }
        outputBlocks = outputs
        guard !inputs.isEmpty, outputs.count == inputs.count + 1 else {
            throw .unsupported("\(weights.prefix): \(inputs.count) input blocks and \(outputs.count) output blocks do not pair up")
        }
        outNorm = try GroupNorm(weights, "out.0", epsilon: 1e-5)
        convOut = try Conv2D(weights, "out.2")
    }

    static func contextWidth(_ weights: Weights) -> Int? {
        for block in ["input_blocks.1.1", "input_blocks.4.1", "input_blocks.2.1", "middle_block.1"] {
            if let shape = weights.shape("\(block).transformer_blocks.0.attn2.to_k.weight") { return shape[1] }
        }
        return nil
    }

    /// How many values SDXL's extra conditioning has (nil for a UNet without it).
    public var labelWidth: Int? { labelLinear1?.inputs }

    /// The sinusoidal embedding of `timestep` (cosines first), computed in float as diffusers does;
    /// `dimension` values (the UNet's first width, for the timestep itself).
    static func timestepEmbedding(_ timestep: Float, dimension: Int) -> [Float] {
        let half = dimension / 2
        var embedding = [Float](repeating: 0, count: 2 * half)
        let logPeriod = Float(-log(10000.0))
        for i in 0..<half {
            let frequency = Float(exp(Double(logPeriod * Float(i) / Float(half))))
            let argument = Double(timestep * frequency)
            embedding[i] = Float(cos(argument))
            embedding[half + i] = Float(sin(argument))
        }
        return embedding
    }

    /// The predicted noise for `latent` at `timestep`, attending to `context` (rows of the text
    /// encoder's width); `labels`: SDXL's extra conditioning (`labelWidth` values). `checkpoint`
    /// runs between blocks; what it throws stops the pass (a cancelled job stops within a block,
    /// not a whole step).
    public func predictNoise(
        _ latent: FeatureMap, timestep: Float, context: [Float], labels: [Float]? = nil, pool: ComputePool,
        checkpoint: () throws -> Void = {}
    ) rethrows -> FeatureMap {
        try predictNoise(frames: [latent], timestep: timestep, context: context, labels: labels, pool: pool,
                         checkpoint: checkpoint)[0]
    }

    /// The same for the frames of an animation, every frame attending to the same text, with
    /// AnimateDiff's `motion` modules (when given) relating the frames after each block: after
    /// the block's transformer, or its resnet where it has none, as diffusers places them.
    public func predictNoise(
        frames: [FeatureMap], timestep: Float, context: [Float], labels: [Float]? = nil, motion: MotionModule? = nil,
        pool: ComputePool, checkpoint: () throws -> Void = {}
    ) rethrows -> [FeatureMap] {
        let contextCount = context.count / contextWidth
        func embed(_ x: [Float], _ first: Linear, _ second: Linear) -> [Float] {
            var h = first(x, rows: 1, pool: pool)
            Activation.silu(&h)
            return second(h, rows: 1, pool: pool)
        }
        var embedding = embed(Self.timestepEmbedding(timestep, dimension: convIn.outputs), timeLinear1, timeLinear2)
        if let labelLinear1, let labelLinear2 {
            precondition(labels?.count == labelLinear1.inputs, "SDXL's UNet needs its \(labelLinear1.inputs) label values")
            add(embed(labels!, labelLinear1, labelLinear2), to: &embedding)
        }
        Activation.silu(&embedding)

        func run(_ layers: [Layer], _ x: [FeatureMap], motion module: TemporalTransformer?, upsampleTo size: (Int, Int)?) -> [FeatureMap] {
            var h = x
            let motionAfter = layers.lastIndex { if case .transformer = $0 { true } else { false } }
                ?? layers.firstIndex { if case .resnet = $0 { true } else { false } }
            for (index, layer) in layers.enumerated() {
                switch layer {
                case .resnet(let block): h = block(frames: h, timestep: embedding, pool: pool)
                case .transformer(let block):
                    h = block(frames: h, context: context, contextCount: contextCount, pool: pool)
                case .downsample(let conv): h = conv(frames: h, pool: pool)
                case .upsample(let conv):
                    let (height, width) = size ?? (h[0].height * 2, h[0].width * 2)
                    h = conv(frames: h.map { $0.resizedNearest(height: height, width: width) }, pool: pool)
                }
                if index == motionAfter, let module { h = module(h, pool: pool) }
            }
            return h
        }

        var h = convIn(frames: frames, pool: pool)
        var skips = [h]
        for (index, block) in inputBlocks.enumerated() {
            try checkpoint()
            h = run(block, h, motion: motion?.input[index], upsampleTo: nil)
            skips.append(h)
        }
        try checkpoint()
        h = run(middleBlock, h, motion: motion?.middle, upsampleTo: nil)
        for (index, block) in outputBlocks.enumerated() {
            try checkpoint()
            let skip = skips.removeLast()
            h = zip(h, skip).map { $0.appendingChannels(of: $1) }
            h = run(block, h, motion: motion?.output[index], upsampleTo: skips.last.map { ($0[0].height, $0[0].width) })
        }
        return convOut(frames: h.map { outNorm($0, silu: true, pool: pool) }, pool: pool)
    }
}
