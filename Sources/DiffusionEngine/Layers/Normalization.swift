import Foundation
import LLMEngine

/// Group normalization over a feature map (channels split into groups, each normalized over its
/// channels and pixels), then a per-channel scale and shift; optionally SiLU after, as most of its
/// uses in a UNet and a VAE are followed by one. Sums are taken in double.
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
            let values = values.baseAddress!
            pool.runShared(groups) { _, groupRange in
                for group in groupRange {
                    let start = values + group * perGroup * pixels, count = perGroup * pixels
                    var sum = 0.0
                    for i in 0..<count { sum += Double(start[i]) }
                    let mean = sum / Double(count)
                    var squares = 0.0
                    for i in 0..<count {
                        let d = Double(start[i]) - mean
                        squares += d * d
                    }
                    let inverse = 1 / (squares / Double(count) + Double(epsilon)).squareRoot()
                    for c in 0..<perGroup {
                        let channel = group * perGroup + c
                        let a = Float(inverse) * scale[channel]
                        let b = shift[channel] - Float(mean) * a
                        let plane = start + c * pixels
                        for i in 0..<pixels {
                            let v = plane[i] * a + b
                            plane[i] = silu ? v / (1 + exp(-v)) : v
                        }
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

    /// Each row normalised on its own (rows shared between the pool's threads when one is given).
    func callAsFunction(_ x: [Float], rows: Int, pool: ComputePool? = nil) -> [Float] {
        let width = scale.count
        precondition(x.count == rows * width, "a layer norm's rows must be its width")
        var y = x
        let (scale, shift, epsilon) = (scale, shift, epsilon)
        y.withUnsafeMutableBufferPointer { y in
            let y = y.baseAddress!
            let normalise = { (range: Range<Int>) in
                for row in range {
                    let start = y + row * width
                    var sum = 0.0
                    for i in 0..<width { sum += Double(start[i]) }
                    let mean = sum / Double(width)
                    var squares = 0.0
                    for i in 0..<width {
                        let d = Double(start[i]) - mean
                        squares += d * d
                    }
                    let inverse = Float(1 / (squares / Double(width) + Double(epsilon)).squareRoot())
                    for i in 0..<width { start[i] = (start[i] - Float(mean)) * inverse * scale[i] + shift[i] }
                }
            }
            if let pool { pool.runShared(rows) { _, range in normalise(range) } } else { normalise(0..<rows) }
        }
        return y
    }
}
