import Foundation
import LLMEngine

/// TAESD, the tiny distilled decoder (madebyollin's): latents squashed with 3·tanh(x/3), a
/// convolution and ReLU, then stages of residual blocks (three 3×3 convolutions with ReLUs between,
/// added to the input, ReLU) joined by 2× nearest upsampling and a convolution — a fraction of the
/// VAE's arithmetic, for fast decoding. Reads its own file layout (`taesd_decoder.safetensors`, a
/// clamp at index 0) and diffusers' (`decoder.layers.N`, one lower).
public struct TinyDecoder: Sendable {
    enum Layer: Sendable {
        case conv(Conv2D, relu: Bool)
        case block(Conv2D, Conv2D, Conv2D, skip: Conv2D?)
        case upsample
    }

    let layers: [Layer]

    public init(_ source: any TensorSource, precision: Precision = .float32) throws(DiffusionError) {
        let diffusers = source.shape(of: "decoder.layers.0.weight") != nil
        let weights = Weights(source, prefix: diffusers ? "decoder.layers." : "", precision: precision)
        var index = diffusers ? 0 : 1
        guard weights.has("\(index).weight") else {
            throw .unsupported("not a TAESD decoder: no first convolution (\(weights.prefix)\(index).weight)")
        }
        var layers: [Layer] = [.conv(try Conv2D(weights, "\(index)"), relu: true)]
        index += 2  // the ReLU after it
        var misses = 0
        while misses < 2 {
            if weights.has("\(index).conv.0.weight") {
                let block = weights.scoped("\(index)")
                layers.append(.block(try Conv2D(block, "conv.0"), try Conv2D(block, "conv.2"), try Conv2D(block, "conv.4"),
                                     skip: block.has("skip.weight") ? try Conv2D(block, "skip") : nil))
                misses = 0
            } else if weights.has("\(index).weight") {
                layers.append(.conv(try Conv2D(weights, "\(index)"), relu: false))
                misses = 0
            } else {
                // A layer without weights between a block and a convolution is an upsampling.
                if case .block = layers.last { layers.append(.upsample) }
                misses += 1
            }
            index += 1
        }
        if case .upsample = layers.last { layers.removeLast() }
        self.layers = layers
    }

    /// How many pixels one latent value spans per side.
    public var upscale: Int { 1 << layers.filter { if case .upsample = $0 { true } else { false } }.count }

    /// RGB in [-1, 1] (before clamping) for `latent` as the sampler left it.
    public func decode(_ latent: FeatureMap, pool: ComputePool, checkpoint: () throws -> Void = {}) rethrows -> FeatureMap {
        var h = latent
        for i in h.values.indices { h.values[i] = 3 * Float(tanh(Double(h.values[i] / 3))) }
        for layer in layers {
            switch layer {
            case .conv(let conv, let relu):
                h = conv(h, pool: pool)
                if relu { Self.relu(&h) }
            case .block(let a, let b, let c, let skip):
                try checkpoint()
                var y = a(h, pool: pool)
                Self.relu(&y)
                y = b(y, pool: pool)
                Self.relu(&y)
                y = c(y, pool: pool)
                y.add(skip.map { $0(h, pool: pool) } ?? h)
                Self.relu(&y)
                h = y
            case .upsample:
                h = h.resizedNearest(height: h.height * 2, width: h.width * 2)
            }
        }
        for i in h.values.indices { h.values[i] = h.values[i] * 2 - 1 }
        return h
    }

    static func relu(_ x: inout FeatureMap) {
        for i in x.values.indices where x.values[i] < 0 { x.values[i] = 0 }
    }
}
