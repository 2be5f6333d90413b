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
        let portable = run(level: 0, batch: batch)
        for level in 1...max(1, llmk_best_level()) {
            #expect(run(level: level, batch: batch).map(\.bitPattern) == portable.map(\.bitPattern), "level \(level)")
        }
        // One vector alone gets exactly what it gets in the batch.
        #expect(run(level: llmk_best_level(), batch: 1).map(\.bitPattern) == portable.prefix(rows).map(\.bitPattern))

        // Against floats: the 8-bit activations cost at most about 1% of the products' size.
        for row in 0..<rows {
            var values = [Float](repeating: 0, count: length)
            values.withUnsafeMutableBufferPointer { buffer in
                weights.withUnsafeBytes { raw in
                    let rowBytes = type.rowBytes(elements: length)!
                    Dequantize.row(UnsafeRawBufferPointer(rebasing: raw[row * rowBytes..<(row + 1) * rowBytes]), type: type, into: buffer)
                }
            }
            for b in 0..<batch {
                let exact = (0..<length).reduce(Float(0)) { $0 + values[$1] * input[b * length + $1] }
                let scale = (0..<length).reduce(Float(0)) { $0 + abs(values[$1] * input[b * length + $1]) }
                #expect(abs(portable[b * rows + row] - exact) <= 0.01 * scale + 1e-6, "row \(row), vector \(b)")
            }
        }
    }
}
