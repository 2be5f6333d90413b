import LLMKernels
import Testing
@testable import LLMEngine

/// The C kernels: every instruction-set path gives bit-identical products, whatever the batch,
/// and they agree with a plain float product of the dequantized weights.
struct KernelTests {
    /// Each weight type with the kernel number it goes to; Q4_0 twice, in both summation orders.
    static let types: [(GGMLType, Int32)] = [
        (.q4_0, Int32(LLMK_Q4_0)), (.q4_0, Int32(LLMK_Q4_0_BLOCKWISE)), (.q4_1, Int32(LLMK_Q4_1)), (.q8_0, Int32(LLMK_Q8_0)),
        (.q5_0, Int32(LLMK_Q5_0)), (.q5_1, Int32(LLMK_Q5_1)),
    ]

    /// Random weight rows of `type`: random scale bytes kept finite, random quant bytes.
    func randomRows(_ type: GGMLType, rows: Int, length: Int, generator: inout SplitMix64) -> [UInt8] {
        let rowBytes = type.rowBytes(elements: length)!
        var bytes = (0..<rows * rowBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let blockBytes = rowBytes / (length / 32)
        for block in stride(from: 0, to: bytes.count, by: blockBytes) {
            // Scales (and Q4_1's and Q5_1's minimum) as small positive halves: 0x2000–0x27FF.
            for offset in type == .q4_1 || type == .q5_1 ? [0, 2] : [0] {
                bytes[block + offset] = UInt8.random(in: 0...255, using: &generator)
                bytes[block + offset + 1] = 0x20 | UInt8.random(in: 0...7, using: &generator)
            }
        }
        return bytes
    }

    @Test func halfPrecisionRoundsAsIEEEDoes() {
        // Every half's neighbourhood, subnormals included: Swift's Float16 rounds correctly.
        var inputs: [Float] = []
        for bits in UInt16(0)...UInt16(0x7BFF) {
            let value = Float(Float16(bitPattern: bits))
            let next = Float(Float16(bitPattern: bits + 1))
            inputs += [value, -value, (value + next) / 2, value.nextUp, next.nextDown]
        }
        var output = [UInt16](repeating: 0, count: inputs.count)
        llmk_to_half(inputs, &output, Int32(inputs.count))
        let mismatches = inputs.indices.filter { output[$0] != Float16(inputs[$0]).bitPattern }
        #expect(mismatches.isEmpty, "\(mismatches.prefix(3).map { inputs[$0] })")
    }

    @Test func everyPathQuantizesActivationsToTheSameBytes() {
        var generator = SplitMix64(seed: 11)
        // Ordinary values, ties that must round to even, zeros, and blocks of one repeated value.
        var input = (0..<32 * 40).map { _ in Float.random(in: -3...3, using: &generator) }
        for j in 0..<32 { input[32 + j] = Float(j % 5) - 2 + 0.5; input[64 + j] = 0; input[96 + j] = -1.25 }
        input[32] = 127 / 2.5  // puts the block's maximum where x · 127 / max lands on .5 ties
        func run(_ level: Int32) -> ([Int8], [Float], [Float]) {
            var values = [Int8](repeating: 0, count: input.count)
            var scales = [Float](repeating: .nan, count: input.count / 32), sums = scales
            llmk_quantize_at_level(level, input, Int32(input.count), &values, &scales, &sums)
            return (values, scales, sums)
        }
        let portable = run(0)
        #expect(portable.0[64..<96].allSatisfy { $0 == 0 } && portable.1[2] == 0)
        for level in 1...max(1, llmk_best_level()) {
            let other = run(level)
            let bytes = zip(other.0, portable.0).filter { $0 != $1 }.count
            let scales = zip(other.1 + other.2, portable.1 + portable.2).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(bytes == 0 && scales == 0, "level \(level): \(bytes) bytes and \(scales) scales or sums differ")
        }
    }

    @Test(arguments: types)
    func everyPathGivesTheSameNumbersAsPlainFloats(_ kernel: (GGMLType, Int32)) throws {
        let type = kernel.0
        var generator = SplitMix64(seed: 42)
        let rows = 37, length = 96, batch = 11
        let weights = randomRows(type, rows: rows, length: length, generator: &generator)
        let input = (0..<batch * length).map { _ in Float.random(in: -2...2, using: &generator) }
        let quantized = QuantizedBatch(length: length, capacity: batch)
        input.withUnsafeBufferPointer { quantized.quantize($0.baseAddress!, count: batch) }

        func run(level: Int32, batch: Int) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            weights.withUnsafeBytes { raw in
                output.withUnsafeMutableBufferPointer { out in
                    _ = llmk_matmul_at_level(
                        level, kernel.1, raw.baseAddress!, type.rowBytes(elements: length)!,
                        Int32(length / 32), quantized.kernelView, Int32(batch), out.baseAddress!, Int32(rows), 0, Int32(rows))
                }
            }
            return output
        }
        // The 8-bit activations cost at most about 1% of the products' size.
        checkEveryPath(run, type: type, weights: weights, rows: rows, length: length, input: input, batch: batch,
                       tolerance: 0.01)
    }

    /// Every instruction-set path gives the portable path's bits, a vector in a smaller batch gets
    /// what it gets in the whole one, and the products are those of the dequantized weights within `tolerance`
    /// of the products' size.
    func checkEveryPath(
        _ run: (_ level: Int32, _ batch: Int) -> [Float], type: GGMLType, weights: [UInt8], rows: Int, length: Int,
        input: [Float], batch: Int, tolerance: Double
    ) {
        let portable = run(0, batch)
        for level in 1...max(1, llmk_best_level()) {
            #expect(run(level, batch).map(\.bitPattern) == portable.map(\.bitPattern), "level \(level)")
        }
        // Any batch size (each has its own unrolled copy) gives each vector what it gets in the batch.
        for size in 1..<batch {
            #expect(run(llmk_best_level(), size).map(\.bitPattern) == portable.prefix(size * rows).map(\.bitPattern),
                    "batch of \(size)")
        }
        let rowBytes = type.rowBytes(elements: length)!
        for row in 0..<rows {
            var values = [Float](repeating: 0, count: length)
            values.withUnsafeMutableBufferPointer { buffer in
                weights.withUnsafeBytes { raw in
                    Dequantize.row(UnsafeRawBufferPointer(rebasing: raw[row * rowBytes..<(row + 1) * rowBytes]), type: type, into: buffer)
                }
            }
            for b in 0..<batch {
                let exact = (0..<length).reduce(0.0) { $0 + Double(values[$1]) * Double(input[b * length + $1]) }
                let scale = (0..<length).reduce(0.0) { $0 + abs(Double(values[$1]) * Double(input[b * length + $1])) }
                #expect(abs(Double(portable[b * rows + row]) - exact) <= tolerance * scale + 1e-6, "row \(row), vector \(b)")
            }
        }
    }

    /// Where each type keeps its half-precision scales, so random blocks stay finite.
    static let floatPathTypes: [(GGMLType, [Int])] = [(.f32, []), (.f16, []), (.q4_K, [0, 2]), (.q6_K, [208])]

    @Test(arguments: floatPathTypes)
    func typesWithoutAnIntegerPathGoThroughFloatsTheSameOnEveryPath(_ kind: (GGMLType, [Int])) throws {
        let type = kind.0
        var generator = SplitMix64(seed: 7)
        let rows = 19, length = 512, batch = 5
        let rowBytes = type.rowBytes(elements: length)!
        var weights: [UInt8]
        if type == .f32 {
            weights = (0..<rows * length).flatMap { _ in
                withUnsafeBytes(of: Float.random(in: -1...1, using: &generator).bitPattern.littleEndian, Array.init)
            }
        } else {
            weights = (0..<rows * rowBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if type == .f16 {
                // Exponent bits kept below infinity's.
                for index in stride(from: 1, to: weights.count, by: 2) { weights[index] &= 0xBB }
            }
            for block in stride(from: 0, to: weights.count, by: type.blockBytes) {
                for offset in kind.1 {
                    weights[block + offset] = UInt8.random(in: 0...255, using: &generator)
                    weights[block + offset + 1] = 0x20 | UInt8.random(in: 0...7, using: &generator)
                }
            }
        }
        let input = (0..<batch * length).map { _ in Float.random(in: -2...2, using: &generator) }

        func run(level: Int32, batch: Int) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            weights.withUnsafeBytes { raw in
                output.withUnsafeMutableBufferPointer { out in
                    #expect(llmk_matmul_float_at_level(
                        level, Int32(type.rawValue), raw.baseAddress!, rowBytes, Int32(length), input, Int32(batch),
                        out.baseAddress!, Int32(rows), 0, Int32(rows)) == 1)
                }
            }
            return output
        }
        checkEveryPath(run, type: type, weights: weights, rows: rows, length: length, input: input, batch: batch,
                       tolerance: 1e-5)
    }
}
