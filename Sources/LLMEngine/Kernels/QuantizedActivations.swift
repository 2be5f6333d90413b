/// An activation vector in 32-value blocks of 8-bit integers with a scale, as llama.cpp quantizes
/// activations before multiplying them with Q4_0, Q4_1 and Q8_0 weights: integer dot products are
/// the fast path, and doing it the same way keeps our numbers with llama.cpp's.
struct QuantizedActivations {
    /// Per block: the scale, rounded through half precision as ggml stores it.
    var scales: [Float]
    /// Per block: scale × sum of the integers (Q8_1's `s`), for weights with a minimum (Q4_1).
    var scaledSums: [Float]
    var values: [Int8]

    init(capacity: Int) {
        scales = [Float](repeating: 0, count: capacity / 32)
        scaledSums = [Float](repeating: 0, count: capacity / 32)
        values = [Int8](repeating: 0, count: capacity)
    }

    /// Quantizes `input` (a multiple of 32 long): per block, scale = max|x| / 127 and each value
    /// rounded to nearest, ties to even, as ggml's x86 kernels do.
    mutating func quantize(_ input: UnsafeBufferPointer<Float>) {
        let blocks = input.count / 32
        scales.withUnsafeMutableBufferPointer { scales in
            scaledSums.withUnsafeMutableBufferPointer { sums in
                values.withUnsafeMutableBufferPointer { values in
                    for block in 0..<blocks {
                        let base = block * 32
                        var maximum: Float = 0
                        for j in 0..<32 { maximum = max(maximum, abs(input[base + j])) }
                        let scale = maximum / 127
                        let inverse: Float = maximum != 0 ? 127 / maximum : 0
                        var sum: Int32 = 0
                        for j in 0..<32 {
                            let q = Int8((input[base + j] * inverse).rounded(.toNearestOrEven))
                            values[base + j] = q
                            sum += Int32(q)
                        }
                        scales[block] = Float(Float16(scale))
                        sums[block] = Float(Float16(scale * Float(sum)))
                    }
                }
            }
        }
    }
}
