import Foundation
import LLMEngine
import LLMKernels

/// Group normalization over a feature map (channels split into groups, each normalized over its
/// channels and pixels), then a per-channel scale and shift; optionally SiLU after, as most of its
/// uses in a UNet and a VAE are followed by one. Sums are taken in double (`llmk_group_norm`).
struct GroupNorm: Sendable {
    let scale: [Float]
    let shift: [Float]
    let groups: Int
    let epsilon: Float

    init(_ weights: Weights, _ name: String, groups: Int = 32, epsilon: Float) throws(DiffusionError) {
        scale = try weights.tensor(name + ".weight").values
        shift = try weights.tensor(name + ".bias").values
        guard scale.count % groups == 0 else {
            throw .unsupported("\(weights.prefix)\(name) has \(scale.count) channels, not a multiple of \(groups) groups")
        }
        self.groups = groups
        self.epsilon = epsilon
    }

    func callAsFunction(_ x: FeatureMap, silu: Bool = false, pool: ComputePool) -> FeatureMap {
        precondition(x.channels == scale.count, "a group norm's input must have its channel count")
        var y = x
        let perGroup = x.channels / groups, pixels = x.pixels
        let (scale, shift, epsilon) = (scale, shift, epsilon)
        y.values.withUnsafeMutableBufferPointer { values in
            scale.withUnsafeBufferPointer { scale in
                shift.withUnsafeBufferPointer { shift in
                    let (values, scale, shift) = (values.baseAddress!, scale.baseAddress!, shift.baseAddress!)
                    pool.runShared(groups) { _, range in
                        llmk_group_norm(values, Int32(pixels), Int32(perGroup), Int32(range.lowerBound), Int32(range.count),
                                        scale, shift, epsilon, silu ? 1 : 0)
                    }
                }
            }
        }
        return y
    }
}

/// Layer normalization over rows of tokens, with a scale and shift.
struct LayerNorm: Sendable {
    let scale: [Float]
    let shift: [Float]
    let epsilon: Float

    init(_ weights: Weights, _ name: String, epsilon: Float = 1e-5) throws(DiffusionError) {
        scale = try weights.tensor(name + ".weight").values
        shift = try weights.tensor(name + ".bias").values
        self.epsilon = epsilon
    }

    /// Each row normalised on its own (`llmk_layer_norm`; rows shared between the pool's threads
    /// when one is given).
    func callAsFunction(_ x: [Float], rows: Int, pool: ComputePool? = nil) -> [Float] {
        let width = scale.count
        precondition(x.count == rows * width, "a layer norm's rows must be its width")
        var y = x
        let epsilon = epsilon
        y.withUnsafeMutableBufferPointer { y in
            scale.withUnsafeBufferPointer { scale in
                shift.withUnsafeBufferPointer { shift in
                    let (y, scale, shift) = (y.baseAddress!, scale.baseAddress!, shift.baseAddress!)
                    let normalise = { (range: Range<Int>) in
                        llmk_layer_norm(y + range.lowerBound * width, Int32(range.count), Int32(width), scale, shift, epsilon)
                    }
                    if let pool { pool.runShared(rows) { _, range in normalise(range) } } else { normalise(0..<rows) }
                }
            }
        }
        return y
    }
}
