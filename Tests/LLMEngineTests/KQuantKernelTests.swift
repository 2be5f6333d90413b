import Foundation
import LLMKernels
import Testing
@testable import LLMEngine

/// K-quant and IQ4 weights: ggml's dequantizers (golden values from gguf-py,
/// scripts/reference/kquant_reference.py), the rewrite into the integer kernels' types within what
/// each rewrite promises, and the rewritten product the same on every instruction-set path and
/// close to the product of the file's own values. An extension of `KernelTests`, so `make test`
/// runs it again on every lower level.
extension KernelTests {
    struct KQuantCase: Sendable, CustomStringConvertible {
        var type: GGMLType
        var bytes: [UInt8]
        var values: [Float]
        var description: String { type.name }
    }

    nonisolated(unsafe) static let kquantReference: [String: Any] = {
        let url = Bundle.module.url(forResource: "kquant-reference", withExtension: "json", subdirectory: "Reference")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static let kquantCases: [KQuantCase] = (kquantReference["cases"] as! [[String: Any]]).map { entry in
        let hex = Array((entry["bytes"] as! String).utf8)
        let bytes = stride(from: 0, to: hex.count, by: 2).map { UInt8(String(decoding: hex[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
        return KQuantCase(type: GGMLType(rawValue: UInt32(entry["type_id"] as! Int))!, bytes: bytes,
                          values: (entry["values"] as! [Double]).map(Float.init))
    }

    static func dequantized(_ bytes: [UInt8], type: GGMLType) -> [Float] {
        let count = bytes.count / type.blockBytes * type.blockElements
        var values = [Float](repeating: .nan, count: count)
        bytes.withUnsafeBytes { raw in values.withUnsafeMutableBufferPointer { Dequantize.row(raw, type: type, into: $0) } }
        return values
    }

    @Test(arguments: kquantCases)
    func kQuantsDequantizeAsGGMLDoes(_ reference: KQuantCase) {
        let values = Self.dequantized(reference.bytes, type: reference.type)
        let worst = zip(values, reference.values).map { abs($0 - $1) / max(1, abs($1)) }.max()!
        #expect(worst <= 1e-6, "largest relative difference \(worst)")
    }

    /// Q4_K, Q5_K and IQ4_XS lose only their 32 values' scale and minimum to half precision,
    /// IQ4_NL and Q3_K nothing (but where Q3_K's byte would be 128), Q2_K and Q6_K at most half a
    /// step of Q8_0's (1/127 of each 32 values' largest, in half precision).
    @Test(arguments: kquantCases)
    func theRewriteForTheIntegerKernelsKeepsTheValues(_ reference: KQuantCase) {
        let type = reference.type, target = GGMLType(rawValue: UInt32(llmk_requantized_type(Int32(type.rawValue))))!
        let length = reference.values.count
        var rewritten = [UInt8](repeating: 0, count: length / 32 * target.blockBytes)
        reference.bytes.withUnsafeBytes { raw in
            #expect(llmk_requantize(Int32(type.rawValue), raw.baseAddress!, raw.count, 1, Int32(length), &rewritten) == 1)
        }
        let values = Self.dequantized(rewritten, type: target)
        for block in 0..<length / 32 {
            let expected = reference.values[block * 32..<(block + 1) * 32], got = values[block * 32..<(block + 1) * 32]
            let largest = expected.map(abs).max()!
            let bound: Float = switch type {
            case .q2_K, .q6_K: largest / 127 * 0.501 + 1e-7  // half a step of the half-precision d
            case .iq4_NL: 0
            default: largest * 1e-3
            }
            let worst = zip(got, expected).map { abs($0 - $1) }.max()!
            #expect(worst <= bound, "block \(block): \(worst) > \(bound)")
        }
    }

    static let kquantTypes: [GGMLType] = [.q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS]

    /// Random rows of each type (scales kept ordinary halves) through the rewrite and the integer
    /// kernels: every path and batch size the same bits, and each product within 2% of the exact
    /// product of the file's values (8-bit activations, and Q2_K's and Q6_K's requantization).
    /// `rows` random rows of `type` (scales kept ordinary halves), `batch` random vectors, and the
    /// vectors quantized.
    static func randomKQuantProblem(_ type: GGMLType, rows: Int, length: Int, batch: Int)
        -> (weights: [UInt8], input: [Float], quantized: QuantizedBatch)
    {
        var generator = SplitMix64(seed: UInt64(type.rawValue))
        let rowBytes = type.rowBytes(elements: length)!
        let halves: [Int] = switch type {
        case .q2_K: [80, 82]
        case .q3_K: [108]
        case .q6_K: [208]
        default: [0, 2]
        }
        var weights = (0..<rows * rowBytes).map { _ in UInt8.random(in: 0...255, using: &generator) }
        for block in stride(from: 0, to: weights.count, by: type.blockBytes) {
            for offset in halves where offset + 2 <= type.blockBytes && (offset == 0 || type != .iq4_NL) {
                weights[block + offset] = UInt8.random(in: 0...255, using: &generator)
                weights[block + offset + 1] = 0x20 | UInt8.random(in: 0...7, using: &generator)
            }
        }
        if type == .iq4_XS || type == .iq4_NL {
            // Their second half-word is scale bits or values, not a half: only the first is one.
            for block in stride(from: 0, to: weights.count, by: type.blockBytes) where type == .iq4_XS {
                weights[block + 2] = UInt8.random(in: 0...255, using: &generator)
                weights[block + 3] = UInt8.random(in: 0...255, using: &generator)
            }
        }
        var input = (0..<batch * length).map { _ in Float.random(in: -2...2, using: &generator) }
        // One block whose largest magnitude comes twice, with both signs (the sign picks the scale's).
        input[3] = -2.5
        input[200] = 2.5
        let quantized = QuantizedBatch(length: length, capacity: batch)
        input.withUnsafeBufferPointer { quantized.quantize($0.baseAddress!, count: batch) }
        return (weights, input, quantized)
    }

    /// Random rows of each type through the rewrite and the integer kernels: every path and batch
    /// size the same bits, and each product within 2% of the exact product of the file's values
    /// (8-bit activations, and Q2_K's and Q6_K's requantization).
    @Test(arguments: kquantTypes)
    func rewrittenKQuantsMultiplyTheSameOnEveryPath(_ type: GGMLType) throws {
        let rows = 37, length = 512, batch = 6, rowBytes = type.rowBytes(elements: length)!
        let (weights, input, quantized) = Self.randomKQuantProblem(type, rows: rows, length: length, batch: batch)
        let kernelType = llmk_requantized_type(Int32(type.rawValue)), target = GGMLType(rawValue: UInt32(kernelType))!
        let blocks = Int32(length / 32)
        var rewritten = [UInt8](repeating: 0, count: rows * length / 32 * target.blockBytes)
        weights.withUnsafeBytes { raw in
            #expect(llmk_requantize(Int32(type.rawValue), raw.baseAddress!, rowBytes, Int32(rows), Int32(length), &rewritten) == 1)
        }
        var interleaved = [UInt8](repeating: 0xAA, count: llmk_interleaved_size(kernelType, Int32(rows), blocks))
        #expect(llmk_interleave(kernelType, rewritten, length / 32 * target.blockBytes, Int32(rows), blocks, &interleaved) == 1)
        func run(level: Int32, batch: Int) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            output.withUnsafeMutableBufferPointer { out in
                #expect(llmk_matmul_at_level(level, kernelType, interleaved, blocks, quantized.kernelView, Int32(batch),
                                             out.baseAddress!, Int32(rows), 0, Int32(rows)) == 1)
            }
            return output
        }
        checkEveryPath({ run(level: $0, batch: $1) }, type: type, weights: weights, rows: rows, length: length,
                       input: input, batch: batch, tolerance: 0.02)
    }

    /// The same rows as llama.cpp multiplies them (activations in 256-value blocks for the
    /// K-quants, its repacked matrices' block-by-block sums for Q4_K, Q2_K and IQ4_NL): every path
    /// and batch size the same bits — that they are llama.cpp's bits is KQuantModelReferenceTests'
    /// part — and within 2% of the exact product.
    /// Each type with each kernel llama.cpp's order takes it with: Q2_K, Q4_K and IQ4_NL as
    /// llama.cpp sums the matrices it repacks, and in lanes (its other matrices).
    static let llamaCppKernels: [(GGMLType, Int32)] = kquantTypes.map { ($0, Int32($0.rawValue)) } + [
        (.q2_K, Int32(LLMK_Q2_K_REPACKED)), (.q4_K, Int32(LLMK_Q4_K_REPACKED)), (.iq4_NL, Int32(LLMK_IQ4_NL_BLOCKWISE)),
    ]

    @Test(arguments: llamaCppKernels)
    func kQuantsMultiplyInLlamaCppsOrderTheSameOnEveryPath(_ kind: (GGMLType, Int32)) throws {
        let (type, kernel) = kind
        // An odd block count too, for IQ4_NL's last block summed on its own.
        let rows = 40, length = type == .iq4_NL ? 544 : 512, batch = 6, rowBytes = type.rowBytes(elements: length)!
        let (weights, input, quantized) = Self.randomKQuantProblem(type, rows: rows, length: length, batch: batch)
        let superBlocks = type == .iq4_NL
            ? llmk_superblock_activations()
            : input.withUnsafeBufferPointer { quantized.superBlocks(of: $0.baseAddress!, count: batch) }
        func run(level: Int32, batch: Int) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            output.withUnsafeMutableBufferPointer { out in
                let handled = type == .iq4_NL
                    ? llmk_matmul_lanes_at_level(level, kernel, weights, rowBytes, Int32(length / 32), quantized.kernelView,
                                                 Int32(batch), out.baseAddress!, Int32(rows), 0, Int32(rows))
                    : llmk_matmul_superblocks_at_level(level, kernel, weights, rowBytes, Int32(length / 256), superBlocks,
                                                       Int32(batch), out.baseAddress!, Int32(rows), 0, Int32(rows))
                #expect(handled == 1)
            }
            return output
        }
        checkEveryPath({ run(level: $0, batch: $1) }, type: type, weights: weights, rows: rows, length: length,
                       input: input, batch: batch, tolerance: 0.02)
    }

    /// Activations as ggml's Q8_K, the same on every path: a block of zeros, a block whose largest
    /// magnitude comes with both signs (the first one's sign is kept), values that round to a tie.
    @Test func activationsInBlocksOf256AreQuantizedTheSameOnEveryPath() {
        var generator = SplitMix64(seed: 256)
        var input = (0..<4 * 256).map { _ in Float.random(in: -3...3, using: &generator) }
        for j in 0..<256 { input[256 + j] = 0 }
        input[512 + 10] = -4
        input[512 + 20] = 4
        for j in 0..<256 { input[768 + j] = Float(j % 9) - 4 + 0.5 }  // 127/4.5 = 28.2…: no exact ties, many near
        input[768] = 4.5
        func run(_ level: Int32) -> (values: [Int8], scales: [Float], sums: [Int16]) {
            var values = [Int8](repeating: 0, count: input.count), scales = [Float](repeating: .nan, count: 4)
            var sums = [Int16](repeating: 0, count: 64)
            llmk_quantize_q8_K_at_level(level, input, 4, 256, &values, &scales, &sums)
            return (values, scales, sums)
        }
        let portable = run(0)
        #expect(portable.scales[1] == 0 && portable.values[256..<512].allSatisfy { $0 == 0 })
        #expect(portable.values[512 + 10] == -127 && portable.values[512 + 20] == 127, "the first of the largest is -127")
        for group in 0..<64 {
            #expect(Int(portable.sums[group]) == portable.values[group * 16..<(group + 1) * 16].reduce(0) { $0 + Int($1) })
        }
        for level in 1...max(1, llmk_best_level()) {
            let other = run(level)
            #expect(other.values == portable.values && other.sums == portable.sums, "level \(level)")
            #expect(other.scales.map(\.bitPattern) == portable.scales.map(\.bitPattern), "level \(level)")
        }
    }
}
