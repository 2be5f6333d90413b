import Foundation
import LLMKernels
import Testing
@testable import LLMEngine

/// The C kernels: every instruction-set path gives bit-identical products, whatever the batch
/// and however the rows are shared out, and they agree with a plain float product of the
/// dequantized weights.
struct KernelTests {
    /// The weight types with an integer path.
    static let types: [GGMLType] = [.q4_0, .q4_1, .q8_0, .q5_0, .q5_1]

    /// The same for llama.cpp's order, with the kernel number each goes to: Q4_0 twice, in both
    /// of llama.cpp's summation orders.
    static let laneOrderTypes: [(GGMLType, Int32)] = [
        (.q4_0, Int32(LLMK_Q4_0)), (.q4_0, Int32(LLMK_Q4_0_BLOCKWISE)), (.q4_1, Int32(LLMK_Q4_1)), (.q8_0, Int32(LLMK_Q8_0)),
        (.q5_0, Int32(LLMK_Q5_0)), (.q5_1, Int32(LLMK_Q5_1)),
    ]

    /// Random weights, a random batch of activations and its 8-bit form.
    struct Problem {
        var rows = 37, length = 96, batch = 11  // rows: two groups of sixteen and a part group
        var weights: [UInt8] = []
        var input: [Float] = []
        var quantized = QuantizedBatch(length: 96, capacity: 11)
    }

    static let levelNames = ["portable", "AVX2", "AVX-512 VNNI"]

    /// `make test` runs these suites again with `LLMK_ISA` forcing each lower level, so the paths
    /// this machine would not choose run through the kernels' own dispatch too; this says which
    /// level a run used.
    @Test func theLevelInUseIsTheOneAsked() {
        let level = Int(llmk_best_level())
        print("Kernel tests run at instruction-set level \(level) (\(Self.levelNames[min(level, 2)]))")
        if let forced = ProcessInfo.processInfo.environment["LLMK_ISA"].flatMap(Int.init) {
            #expect(level <= forced, "LLMK_ISA=\(forced) asks for at most level \(forced)")
        }
    }

    func problem(_ type: GGMLType) -> Problem {
        var generator = SplitMix64(seed: 42)
        var problem = Problem()
        problem.weights = randomRows(type, rows: problem.rows, length: problem.length, generator: &generator)
        problem.input = (0..<problem.batch * problem.length).map { _ in Float.random(in: -2...2, using: &generator) }
        problem.input.withUnsafeBufferPointer { problem.quantized.quantize($0.baseAddress!, count: problem.batch) }
        return problem
    }

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

    /// A vector that is not whole blocks (a KV cache row of a head narrower than 32) ends in a
    /// shorter block of its own, quantized by its own largest value, on every path alike.
    @Test func aShortLastBlockIsQuantizedOnItsOwn() {
        var generator = SplitMix64(seed: 12)
        let input = (0..<32 * 3 + 16).map { i in Float.random(in: -3...3, using: &generator) * (i >= 96 ? 10 : 1) }
        func run(_ level: Int32) -> ([Int8], [Float], [Int32]) {
            var values = [Int8](repeating: 0, count: input.count), scales = [Float](repeating: .nan, count: 4), sums = scales
            var totals = [Int32](repeating: .max, count: 4)
            llmk_quantize_at_level(level, input, Int32(input.count), &values, &scales, &sums, &totals)
            return (values, scales, totals)
        }
        let portable = run(0)
        let largest = input[96...].map(abs).max()!
        #expect(portable.1[3] == Float(Float16(largest / 127)))
        #expect(portable.2[3] == portable.0[96...].reduce(0) { $0 + Int32($1) })
        #expect(portable.0[96...].map { abs(Int($0)) }.max() == 127)
        for level in 1...max(1, llmk_best_level()) {
            let other = run(level)
            #expect(other.0 == portable.0 && other.1.map(\.bitPattern) == portable.1.map(\.bitPattern) && other.2 == portable.2,
                    "level \(level)")
        }
    }

    @Test func everyPathQuantizesActivationsToTheSameBytes() {
        var generator = SplitMix64(seed: 11)
        // Ordinary values, ties that must round to even, zeros, and blocks of one repeated value.
        var input = (0..<32 * 40).map { _ in Float.random(in: -3...3, using: &generator) }
        for j in 0..<32 { input[32 + j] = Float(j % 5) - 2 + 0.5; input[64 + j] = 0; input[96 + j] = -1.25 }
        input[32] = 127 / 2.5  // puts the block's maximum where x · 127 / max lands on .5 ties
        func run(_ level: Int32) -> ([Int8], [Float], [Float], [Int32]) {
            var values = [Int8](repeating: 0, count: input.count)
            var scales = [Float](repeating: .nan, count: input.count / 32), sums = scales
            var totals = [Int32](repeating: .max, count: input.count / 32)
            llmk_quantize_at_level(level, input, Int32(input.count), &values, &scales, &sums, &totals)
            return (values, scales, sums, totals)
        }
        let portable = run(0)
        #expect(portable.0[64..<96].allSatisfy { $0 == 0 } && portable.1[2] == 0)
        #expect(portable.3 == (0..<input.count / 32).map { block in portable.0[block * 32..<(block + 1) * 32].reduce(0) { $0 + Int32($1) } })
        for level in 1...max(1, llmk_best_level()) {
            let other = run(level)
            let bytes = zip(other.0, portable.0).filter { $0 != $1 }.count
            let scales = zip(other.1 + other.2, portable.1 + portable.2).filter { $0.bitPattern != $1.bitPattern }.count
            #expect(bytes == 0 && scales == 0 && other.3 == portable.3,
                    "level \(level): \(bytes) bytes and \(scales) scales or sums differ")
        }
    }

    /// Rows of a batch quantized in one call — whole blocks and a shorter last one, rows apart by
    /// more than they hold — give each row's own bytes, scales, sums and totals, and leave what lies
    /// between the rows alone, on every path.
    @Test(arguments: [32, 70, 96, 576])
    func rowsQuantizeAsEachRowAlone(_ count: Int) {
        var generator = SplitMix64(seed: UInt64(count))
        let rows = 7, stride = (count + 31) / 32 * 32 + 64
        let input = (0..<rows * stride).map { _ in Float.random(in: -3...3, using: &generator) }
        for level in 0...max(1, llmk_best_level()) {
            var values = [Int8](repeating: 99, count: rows * stride), scales = [Float](repeating: .nan, count: rows * stride / 32)
            var sums = scales, totals = [Int32](repeating: .max, count: rows * stride / 32)
            llmk_quantize_rows_at_level(level, input, Int32(rows), Int32(stride), Int32(count), &values, &scales, &sums, &totals)
            for row in 0..<rows {
                let blocks = (count + 31) / 32, start = row * stride
                var alone = [Int8](repeating: 0, count: count), alone1 = [Float](repeating: 0, count: blocks), alone2 = alone1
                var alone3 = [Int32](repeating: 0, count: blocks)
                Array(input[start..<start + count]).withUnsafeBufferPointer {
                    llmk_quantize_at_level(0, $0.baseAddress!, Int32(count), &alone, &alone1, &alone2, &alone3)
                }
                #expect(Array(values[start..<start + count]) == alone, "level \(level) row \(row)")
                #expect(values[start + count..<start + stride].allSatisfy { $0 == 99 }, "level \(level) row \(row)")
                let first = start / 32
                #expect(scales[first..<first + blocks].map(\.bitPattern) == alone1.map(\.bitPattern))
                #expect(sums[first..<first + blocks].map(\.bitPattern) == alone2.map(\.bitPattern))
                #expect(Array(totals[first..<first + blocks]) == alone3 && totals[first + blocks] == .max)
            }
        }
    }

    @Test(arguments: types)
    func everyPathGivesTheSameNumbersAsPlainFloats(_ type: GGMLType) throws {
        let problem = problem(type)
        let (rows, length, batch, weights, quantized) = (problem.rows, problem.length, problem.batch, problem.weights, problem.quantized)
        let kernelType = Int32(type.rawValue), blocks = Int32(length / 32)
        var interleaved = [UInt8](repeating: 0xAA, count: llmk_interleaved_size(kernelType, Int32(rows), blocks))
        weights.withUnsafeBytes { raw in
            #expect(llmk_interleave(kernelType, raw.baseAddress!, type.rowBytes(elements: length)!, Int32(rows), blocks,
                                    &interleaved) == 1)
        }

        func run(level: Int32, batch: Int, rowRanges: [Range<Int>] = [0..<rows]) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            output.withUnsafeMutableBufferPointer { out in
                for range in rowRanges {
                    #expect(llmk_matmul_at_level(
                        level, kernelType, interleaved, blocks, quantized.kernelView, Int32(batch),
                        out.baseAddress!, Int32(rows), Int32(range.lowerBound), Int32(range.upperBound)) == 1)
                }
            }
            return output
        }
        // Rows taken in shares, as threads take them, write each row once and only their own.
        #expect(run(level: llmk_best_level(), batch: batch, rowRanges: [0..<16, 16..<32, 32..<rows]).map(\.bitPattern)
                == run(level: llmk_best_level(), batch: batch).map(\.bitPattern))
        // The 8-bit activations cost at most about 1% of the products' size.
        checkEveryPath({ run(level: $0, batch: $1) }, type: type, weights: weights, rows: rows, length: length,
                       input: problem.input, batch: batch, tolerance: 0.01)
    }

    @Test(arguments: laneOrderTypes)
    func everyPathInLlamaCppsOrderGivesTheSameNumbersAsPlainFloats(_ kernel: (GGMLType, Int32)) throws {
        let type = kernel.0
        let problem = problem(type)
        let (rows, length) = (problem.rows, problem.length)
        func run(level: Int32, batch: Int) -> [Float] {
            var output = [Float](repeating: .nan, count: batch * rows)
            problem.weights.withUnsafeBytes { raw in
                output.withUnsafeMutableBufferPointer { out in
                    #expect(llmk_matmul_lanes_at_level(
                        level, kernel.1, raw.baseAddress!, type.rowBytes(elements: length)!, Int32(length / 32),
                        problem.quantized.kernelView, Int32(batch), out.baseAddress!, Int32(rows), 0, Int32(rows)) == 1)
                }
            }
            return output
        }
        checkEveryPath(run, type: type, weights: problem.weights, rows: rows, length: length, input: problem.input,
                       batch: problem.batch, tolerance: 0.01)
    }

    /// Both orders multiply the same integers with the same scales: they differ only by rounding,
    /// a few millionths of the products' size.
    @Test(arguments: laneOrderTypes)
    func theTwoOrdersDifferOnlyByRounding(_ kernel: (GGMLType, Int32)) throws {
        let type = kernel.0
        let problem = problem(type)
        let (rows, length, batch) = (problem.rows, problem.length, problem.batch)
        let kernelType = Int32(type.rawValue), blocks = Int32(length / 32)
        var interleaved = [UInt8](repeating: 0, count: llmk_interleaved_size(kernelType, Int32(rows), blocks))
        var lanes = [Float](repeating: .nan, count: batch * rows), blockwise = lanes
        problem.weights.withUnsafeBytes { raw in
            llmk_interleave(kernelType, raw.baseAddress!, type.rowBytes(elements: length)!, Int32(rows), blocks, &interleaved)
            llmk_matmul_lanes(kernel.1, raw.baseAddress!, type.rowBytes(elements: length)!, blocks,
                              problem.quantized.kernelView, Int32(batch), &lanes, Int32(rows), 0, Int32(rows))
        }
        llmk_matmul(kernelType, interleaved, blocks, problem.quantized.kernelView, Int32(batch), &blockwise,
                    Int32(rows), 0, Int32(rows))
        let size = lanes.map(abs).max()!
        let worst = zip(lanes, blockwise).map { abs($0 - $1) }.max()!
        #expect(worst <= 1e-5 * size, "largest difference \(worst) in products up to \(size)")
        #expect(worst > 0 || type == .q4_0, "the orders round differently")
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

/// Attention in llama.cpp's arithmetic: the vector path gives the portable one's bits for head
/// sizes on and off its 64-lane fast path, contexts shorter and longer than its 64 value lanes,
/// scores whose exponentials leave the range of a plain power-of-two scaling, and heads taken one
/// at a time or in groups sharing a KV head, with and without a sliding window's first positions
/// masked out.
struct AttentionKernelTests {
    @Test(arguments: [(64, 1, 3, 0), (64, 63, 1, 0), (64, 64, 3, 0), (64, 65, 2, 0), (64, 200, 3, 0), (128, 77, 4, 0),
                      (48, 70, 3, 0), (64, 90, 7, 0), (64, 30, 9, 0), (64, 90, 3, 17), (128, 130, 2, 70)])
    func theVectorPathGivesThePortableBits(_ shape: (length: Int, count: Int, heads: Int, skip: Int)) {
        var generator = SplitMix64(seed: UInt64(shape.length * 1000 + shape.count))
        let stride = shape.length * 3
        // The weights are rounded to half precision before they meet the values, which hides most
        // differences in the scores' rounding: many trials, so that any one shows.
        var differing = 0, notAlone = 0
        for trial in 0..<100 {
            // Large queries (every fourth trial) make some scores fall more than 126 powers of two
            // below the maximum, off the plain power-of-two scaling of exp.
            let range: Float = trial % 4 == 0 ? 150 : 3
            let queries = (0..<shape.length * shape.heads).map { _ in Float.random(in: -range...range, using: &generator) }
            let cache = (0..<shape.count * stride).map { _ in Float.random(in: -1...1, using: &generator) }
            var keys = [UInt16](repeating: 0, count: cache.count), values = keys
            llmk_to_half(cache, &keys, Int32(cache.count))
            llmk_to_half(cache.reversed(), &values, Int32(cache.count))
            func run(_ level: Int32, heads: Range<Int>) -> [Float] {
                var scores = [Float](repeating: 0, count: shape.count * heads.count)
                var outputs = [Float](repeating: .nan, count: shape.length * heads.count)
                let part = Array(queries[heads.lowerBound * shape.length..<heads.upperBound * shape.length])
                keys.withUnsafeBufferPointer { keys in
                    values.withUnsafeBufferPointer { values in
                        // The cache itself as the next one: asking for it early changes no number.
                        let upcoming = llmk_cache_view(keys: keys.baseAddress, values: values.baseAddress, count: Int32(shape.count),
                                                       skip: 0)
                        llmk_attention_at_level(level, Int32(heads.count), part, keys.baseAddress, values.baseAddress,
                                                Int32(stride), Int32(shape.length), Int32(shape.count), Int32(shape.skip),
                                                1 / Float(shape.length).squareRoot(), &scores, &outputs, upcoming)
                    }
                }
                return outputs
            }
            let portable = run(0, heads: 0..<shape.heads)
            #expect(portable.allSatisfy { $0.isFinite })
            if run(1, heads: 0..<shape.heads).map(\.bitPattern) != portable.map(\.bitPattern) { differing += 1 }
            let alone = (0..<shape.heads).flatMap { run(1, heads: $0..<$0 + 1) }
            if alone.map(\.bitPattern) != portable.map(\.bitPattern) { notAlone += 1 }
        }
        #expect(differing == 0, "\(differing) of 100 trials differ")
        #expect(notAlone == 0, "\(notAlone) of 100 trials differ from the heads taken one at a time")
    }
}

/// Attention over the blockwise order's 8-bit KV cache: every path (portable, AVX2, AVX-512 VNNI)
/// gives the same bits, heads taken together or one at a time give the same bits, and the result
/// is attention over the unquantized numbers to within what 8-bit keys and values allow — over the
/// positions after `skip` where a sliding window leaves the first few out.
struct QuantizedAttentionKernelTests {
    @Test(arguments: [(64, 1, 3, 0), (64, 7, 1, 0), (64, 33, 3, 0), (64, 64, 2, 0), (64, 200, 3, 0), (128, 77, 4, 0),
                      (32, 70, 3, 0), (64, 90, 7, 0), (64, 30, 9, 0), (96, 41, 2, 0), (64, 77, 3, 13), (256, 100, 4, 31),
                      (64, 40, 1, 5)])
    func everyPathGivesTheSameNumbersCloseToFloats(_ shape: (length: Int, count: Int, heads: Int, skip: Int)) {
        var generator = SplitMix64(seed: UInt64(shape.length * 1000 + shape.count))
        let rows = (shape.count + 7) / 8 * 8, blocks = (shape.length + 31) / 32
        var differing = 0, notAlone = 0, worst: Double = 0
        for trial in 0..<20 {
            // Keys with a few large dimensions (as real models have), sharp and flat attention.
            let sharpness: Float = trial % 2 == 0 ? 4 : 0.5
            let queries = (0..<shape.length * shape.heads).map { _ in Float.random(in: -sharpness...sharpness, using: &generator) }
            let keys = (0..<shape.count * shape.length).map { i in
                Float.random(in: -1...1, using: &generator) * (i % shape.length % 13 == 0 ? 8 : 1)
            }
            let values = (0..<shape.count * shape.length).map { _ in Float.random(in: -2...2, using: &generator) }
            var keyBytes = [UInt8](repeating: 0, count: rows * shape.length), valueBytes = [Int8](repeating: 0, count: rows * shape.length)
            var keyScales = [UInt16](repeating: 0, count: rows * blocks), valueScales = keyScales
            for t in 0..<shape.count {
                llmk_store_kv8(Array(keys[t * shape.length..<(t + 1) * shape.length]),
                               Array(values[t * shape.length..<(t + 1) * shape.length]), Int32(shape.length), Int32(t),
                               Int32(rows), &keyBytes, &keyScales, &valueBytes, &valueScales)
            }
            let scale = 1 / Float(shape.length).squareRoot()
            func run(_ level: Int32, heads: Range<Int>) -> [Float] {
                // The room the kernel asks for, then a guard it must not touch.
                let room = (heads.count + 2) * shape.count + 64
                var scratch = [Float](repeating: .nan, count: room + 64)
                var outputs = [Float](repeating: .nan, count: shape.length * heads.count)
                let part = Array(queries[heads.lowerBound * shape.length..<heads.upperBound * shape.length])
                keyBytes.withUnsafeBufferPointer { k in
                    valueBytes.withUnsafeBufferPointer { v in
                        keyScales.withUnsafeBufferPointer { ks in
                            valueScales.withUnsafeBufferPointer { vs in
                                let cache = llmk_kv8_view(keys: k.baseAddress, key_scales: ks.baseAddress, values: v.baseAddress,
                                                          value_scales: vs.baseAddress, count: Int32(shape.count), rows: Int32(rows),
                                                          skip: Int32(shape.skip))
                                // The cache itself as the next one: asking for it early changes no number.
                                llmk_attention_kv8_at_level(level, Int32(heads.count), part, cache, Int32(shape.length), scale,
                                                            &scratch, &outputs, cache)
                            }
                        }
                    }
                }
                let untouched = scratch[room...].allSatisfy { $0.isNaN }
                #expect(untouched, "wrote past the scratch it asks for")
                return outputs
            }
            let portable = run(0, heads: 0..<shape.heads)
            #expect(portable.allSatisfy { $0.isFinite })
            for level: Int32 in [1, 2] where run(level, heads: 0..<shape.heads).map(\.bitPattern) != portable.map(\.bitPattern) {
                differing += 1
            }
            let alone = (0..<shape.heads).flatMap { run(2, heads: $0..<$0 + 1) }
            if alone.map(\.bitPattern) != portable.map(\.bitPattern) { notAlone += 1 }
            // The numbers as the cache holds them, and the query as the kernel quantizes it.
            let heldKeys = (0..<shape.count * shape.length).map { i in
                let t = i / shape.length, d = i % shape.length
                return Float(Int(keyBytes[t / 8 * 8 * shape.length + d / 4 * 32 + t % 8 * 4 + d % 4]) - 128)
                    * Float(Float16(bitPattern: keyScales[d / 32 * rows + t]))
            }
            let heldValues = (0..<shape.count * shape.length).map { i in
                let t = i / shape.length, d = i % shape.length
                return Float(valueBytes[t / 4 * 4 * shape.length + 4 * d + t % 4])
                    * Float(Float16(bitPattern: valueScales[d / 32 * rows + t]))
            }
            for h in 0..<shape.heads {
                let query = quantized(Array(queries[h * shape.length..<(h + 1) * shape.length]))
                let attended = shape.skip * shape.length..<shape.count * shape.length
                let exact = floatAttention(query: query, keys: Array(heldKeys[attended]), values: Array(heldValues[attended]),
                                           length: shape.length, scale: scale)
                for d in 0..<shape.length { worst = max(worst, abs(exact[d] - Double(portable[h * shape.length + d]))) }
            }
        }
        #expect(differing == 0, "\(differing) runs of a path differ from the portable one")
        #expect(notAlone == 0, "\(notAlone) of 20 trials differ from the heads taken one at a time")
        // What is left after the 8-bit numbers themselves: weights in 16 bits, single precision.
        #expect(worst < 1e-3, "largest difference from attention in doubles over the held numbers: \(worst)")
    }

    /// x as the kernel holds a query: quantized as activations are, per 32 values.
    func quantized(_ x: [Float]) -> [Float] {
        let blocks = (x.count + 31) / 32
        var values = [Int8](repeating: 0, count: x.count), scales = [Float](repeating: 0, count: blocks), sums = scales
        var totals = [Int32](repeating: 0, count: blocks)
        llmk_quantize(x, Int32(x.count), &values, &scales, &sums, &totals)
        return values.indices.map { Float(values[$0]) * scales[$0 / 32] }
    }

    /// softmax(q·K × scale)·V in doubles on the unquantized numbers.
    func floatAttention(query: [Float], keys: [Float], values: [Float], length: Int, scale: Float) -> [Double] {
        let count = keys.count / length
        var scores = [Double](repeating: 0, count: count)
        for t in 0..<count {
            for d in 0..<length { scores[t] += Double(query[d]) * Double(keys[t * length + d]) }
            scores[t] *= Double(scale)
        }
        let largest = scores.max()!
        let weights = scores.map { Foundation.exp($0 - largest) }
        let total = weights.reduce(0, +)
        var output = [Double](repeating: 0, count: length)
        for t in 0..<count {
            for d in 0..<length { output[d] += weights[t] / total * Double(values[t * length + d]) }
        }
        return output
    }
}

/// SiLU-gating in llama.cpp's arithmetic: the vector path gives the portable one's bits, for
/// stretches that start and end anywhere in a row whose last total % 16 take libm's exp.
struct SwiGLUKernelTests {
    @Test func theVectorPathGivesThePortableBits() {
        var generator = SplitMix64(seed: 5)
        let total = 1541  // 96 blocks of 16, and 5 for libm
        let gate = (0..<total).map { _ in Float.random(in: -30...30, using: &generator) }
        let up = (0..<total).map { _ in Float.random(in: -2...2, using: &generator) }
        for (begin, end) in [(0, total), (3, 1500), (1530, total), (8, 16)] {
            var portable = gate, vector = gate
            llmk_swiglu_at_level(0, &portable, up, Int32(begin), Int32(end), Int32(total))
            llmk_swiglu_at_level(1, &vector, up, Int32(begin), Int32(end), Int32(total))
            #expect(vector.map(\.bitPattern) == portable.map(\.bitPattern), "\(begin)..<\(end)")
            #expect(portable[..<begin] == gate[..<begin] && portable[end...] == gate[end...])
        }
    }
}

/// The blockwise order's RMS norm: both paths give the bits of the eight double lanes written out
/// in Swift, row by row, for lengths with and without a remainder past the last eight and for
/// row counts that fill the kernel's groups of four and leave each remainder.
struct RMSNormKernelTests {
    @Test(arguments: [576, 5, 64, 1541], [1, 2, 3, 4, 7, 8])
    func bothPathsGiveTheLanesBits(_ length: Int, _ rows: Int) {
        var generator = SplitMix64(seed: UInt64(length * 10 + rows))
        let x = (0..<rows * length).map { _ in Float.random(in: -40...40, using: &generator) }
        let weight = (0..<length).map { _ in Float.random(in: 0...3, using: &generator) }
        var expected: [Float] = []
        for row in 0..<rows {
            let v = Array(x[row * length..<(row + 1) * length])
            var lanes = [Double](repeating: 0, count: 8)
            for j in 0..<length / 8 * 8 { lanes[j % 8] += Double(v[j] * v[j]) }
            var sum = ((lanes[0] + lanes[4]) + (lanes[2] + lanes[6])) + ((lanes[1] + lanes[5]) + (lanes[3] + lanes[7]))
            for j in length / 8 * 8..<length { sum += Double(v[j] * v[j]) }
            let scale = 1 / (Float(sum / Double(length)) + 1e-5).squareRoot()
            expected += (0..<length).map { v[$0] * scale * weight[$0] }
        }
        for level in 0...max(1, llmk_best_level()) {
            var output = [Float](repeating: .nan, count: rows * length)
            llmk_rms_norm_at_level(level, x, Int32(rows), Int32(length), weight, 1e-5, &output)
            #expect(output.map(\.bitPattern) == expected.map(\.bitPattern), "level \(level)")
        }
    }
}

/// The greedy sampler's scan: the first index of the largest value, as a plain scan finds it,
/// wherever it lies among the vector lanes and the tail past them.
struct ArgmaxKernelTests {
    @Test(arguments: [1, 15, 16, 17, 100, 49_152])
    func itFindsTheFirstLargestValue(_ count: Int) {
        var generator = SplitMix64(seed: UInt64(count))
        for trial in 0..<50 {
            var values = (0..<count).map { _ in Float.random(in: -30...30, using: &generator) }
            // Ties for the largest, now and then, in different lanes and in the tail.
            if trial % 3 == 0 && count > 1 {
                let largest = values.max()! + 1
                for _ in 0..<3 { values[Int.random(in: 0..<count, using: &generator)] = largest }
            }
            var expected = 0
            for index in values.indices where values[index] > values[expected] { expected = index }
            #expect(Int(llmk_argmax(values, Int32(count))) == expected)
        }
    }

    @Test func minusInfinityEverywhereGivesTheFirstIndex() {
        let values = [Float](repeating: -.infinity, count: 40)
        #expect(llmk_argmax(values, 40) == 0)
    }
}
