import Foundation
import LLMKernels
import Testing

/// The diffusion engine's BF16 products and convolutions, and attention's softmax: every
/// instruction-set path gives the same bits, and the values are close to sums in double of the
/// unrounded operands (each operand rounded to BF16 moves a product by at most 2⁻⁸ of it).
struct BF16GemmTests {
    typealias Shape = FloatGemmTests.Shape
    static let shapes = FloatGemmTests.shapes + [Shape(m: 130, n: 1100, depth: 515)]

    static func product(level: Int, flags: Int32, _ shape: Shape) -> [Float] {
        let a = FloatGemmTests.values(shape.m * shape.depth, seed: 1), b = FloatGemmTests.values(shape.n * shape.depth, seed: 2)
        var aRounded = [UInt16](repeating: 0, count: a.count), bRounded = [UInt16](repeating: 0, count: b.count)
        llmk_round_bf16(a, &aRounded, a.count)
        llmk_round_bf16(b, &bRounded, b.count)
        let transposed = flags & Int32(LLMK_GEMM_B_TRANSPOSED) != 0
        var c = flags & Int32(LLMK_GEMM_ACCUMULATE) != 0 ? FloatGemmTests.values(shape.m * shape.n, seed: 3)
            : [Float](repeating: .nan, count: shape.m * shape.n)
        let ldb = Int32(transposed ? shape.depth : shape.n)
        func run(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer) {
            llmk_gemm_bf16_at_level(Int32(level), flags, Int32(shape.m), Int32(shape.n), Int32(shape.depth), a,
                                    Int32(shape.depth), b, ldb, &c, Int32(shape.n))
        }
        switch (flags & Int32(LLMK_GEMM_A_BF16) != 0, flags & Int32(LLMK_GEMM_B_BF16) != 0) {
        case (false, false): run(a, b)
        case (true, false): run(aRounded, b)
        case (false, true): run(a, bRounded)
        case (true, true): run(aRounded, bRounded)
        }
        return c
    }

    @Test(arguments: shapes)
    func everyPathGivesTheSameBitsAndCloseValues(_ shape: Shape) {
        for flags in Int32(0)..<16 where flags & Int32(LLMK_GEMM_B_BF16) == 0 || flags & Int32(LLMK_GEMM_B_TRANSPOSED) != 0 {
            let portable = Self.product(level: 0, flags: flags, shape)
            for level in 1...2 where level <= Int(llmk_bf16_level()) {
                #expect(Self.product(level: level, flags: flags, shape).map(\.bitPattern) == portable.map(\.bitPattern),
                        "level \(level), flags \(flags)")
            }
            // Sums in double for the smaller shapes (the largest is there for the k-blocks' bits).
            guard shape.m * shape.n * shape.depth < 1_000_000 else { continue }
            let a = FloatGemmTests.values(shape.m * shape.depth, seed: 1), b = FloatGemmTests.values(shape.n * shape.depth, seed: 2)
            let transposed = flags & Int32(LLMK_GEMM_B_TRANSPOSED) != 0
            let start = flags & Int32(LLMK_GEMM_ACCUMULATE) != 0 ? FloatGemmTests.values(shape.m * shape.n, seed: 3)
                : [Float](repeating: 0, count: shape.m * shape.n)
            for i in 0..<shape.m {
                for j in 0..<shape.n {
                    var sum = Double(start[i * shape.n + j]), magnitude = 0.0
                    for k in 0..<shape.depth {
                        let product = Double(a[i * shape.depth + k]) * Double(transposed ? b[j * shape.depth + k] : b[k * shape.n + j])
                        sum += product
                        magnitude += abs(product)
                    }
                    #expect(abs(Double(portable[i * shape.n + j]) - sum) <= 1e-2 * magnitude + 1e-6 * (1 + abs(sum)))
                }
            }
        }
    }

    /// A convolution read from its inputs equals the product with its patch matrix written out,
    /// for three frames batched and split between two calls at a place inside a frame.
    @Test(arguments: [(5, 7, 9, 3, 1), (4, 13, 11, 3, 2), (6, 8, 8, 1, 1), (3, 17, 5, 3, 1)])
    func convolutionEqualsTheProductWithItsPatches(_ shape: (Int, Int, Int, Int, Int)) {
        let (channels, height, width, kernel, stride) = shape
        let padding = kernel / 2, outputs = 37, depth = channels * kernel * kernel, frames = 3
        let outHeight = (height + 2 * padding - kernel) / stride + 1, outWidth = (width + 2 * padding - kernel) / stride + 1
        let pixels = outHeight * outWidth, columns = frames * pixels
        let inputs = (0..<frames).map { FloatGemmTests.values(channels * height * width, seed: UInt32(4 + 10 * $0)) }
        let w = FloatGemmTests.values(outputs * depth, seed: 5)
        var patches = [Float](repeating: 0, count: columns * depth)
        for (f, x) in inputs.enumerated() {
            for p in 0..<pixels {
                for c in 0..<channels {
                    for dy in 0..<kernel {
                        for dx in 0..<kernel {
                            let iy: Int = (p / outWidth) * stride + dy - padding
                            let ix: Int = (p % outWidth) * stride + dx - padding
                            guard iy >= 0 && iy < height && ix >= 0 && ix < width else { continue }
                            let column: Int = f * pixels + p, k: Int = (c * kernel + dy) * kernel + dx
                            patches[column * depth + k] = x[(c * height + iy) * width + ix]
                        }
                    }
                }
            }
        }
        for level in 0...Int(llmk_bf16_level()) {
            var expected = [Float](repeating: 0, count: outputs * columns), actual = expected
            llmk_gemm_bf16_at_level(Int32(level), Int32(LLMK_GEMM_B_TRANSPOSED), Int32(outputs), Int32(columns), Int32(depth),
                                    w, Int32(depth), patches, Int32(depth), &expected, Int32(columns))
            inputs[0].withUnsafeBufferPointer { first in
                inputs[1].withUnsafeBufferPointer { second in
                    inputs[2].withUnsafeBufferPointer { third in
                        let frames: [UnsafePointer<Float>?] = [first.baseAddress, second.baseAddress, third.baseAddress]
                        frames.withUnsafeBufferPointer { frames in
                            var description = llmk_conv_input(
                                frames: frames.baseAddress!, frame_count: 3, channels: Int32(channels), height: Int32(height),
                                width: Int32(width), kernel: Int32(kernel), stride: Int32(stride), padding: Int32(padding),
                                out_height: Int32(outHeight), out_width: Int32(outWidth))
                            // In two pieces, as two threads would take it.
                            let half = columns / 2 + 3
                            llmk_conv_bf16_at_level(Int32(level), 0, Int32(outputs), w, &description, 0, Int32(half), &actual)
                            llmk_conv_bf16_at_level(Int32(level), 0, Int32(outputs), w, &description, Int32(half),
                                                    Int32(columns - half), &actual)
                        }
                    }
                }
            }
            #expect(actual.map(\.bitPattern) == expected.map(\.bitPattern), "level \(level)")
        }
    }

    @Test func softmaxRowsAreTheSameOnEveryPathAndSumToOne() {
        let length = 77, count = 9
        let scores = FloatGemmTests.values(count * length, seed: 6).map { $0 * 30 }
        for causal in [Int32(0), 1] {
            var portable = scores
            llmk_softmax_rows_at_level(0, &portable, Int32(count), Int32(length), Int32(length), causal, 0.125, 60)
            var fast = scores
            llmk_softmax_rows_at_level(Int32(llmk_best_level()), &fast, Int32(count), Int32(length), Int32(length), causal, 0.125, 60)
            #expect(fast.map(\.bitPattern) == portable.map(\.bitPattern))
            for r in 0..<count {
                let row = portable[(r * length)..<((r + 1) * length)]
                let valid = causal == 1 ? 60 + r + 1 : length
                #expect(abs(row.reduce(0, +) - 1) < 1e-5)
                #expect(row.dropFirst(valid).allSatisfy { $0 == 0 })
                let source = scores[(r * length)..<(r * length + valid)], top = source.max()!
                let sum = source.reduce(0.0) { $0 + exp(Double(($1 - top) * 0.125)) }
                for (k, value) in source.enumerated() {
                    #expect(abs(Double(row[row.startIndex + k]) - exp(Double((value - top) * 0.125)) / sum) < 1e-6)
                }
            }
        }
    }

    /// Attention in tiles: the same bits on every path, and close to attention computed in double
    /// (query and key counts that leave partial tiles and several key blocks; head widths of SD's):
    /// within 2% of the values' range (scores rounded to BF16 move by up to 2⁻⁸ of their size).
    @Test(arguments: [(37, 29, 40), (130, 300, 40), (64, 77, 80), (5, 600, 64), (70, 520, 160)])
    func tiledAttentionIsTheSameOnEveryPathAndCloseToTheSums(_ shape: (Int, Int, Int)) {
        let (queryCount, keyCount, headWidth) = shape
        let width = headWidth * 3, offset = headWidth  // the middle head of three
        let scale = 1 / Float(headWidth).squareRoot()
        let q = FloatGemmTests.values(queryCount * width, seed: 7).map { $0 * 4 }
        let k = FloatGemmTests.values(keyCount * width, seed: 8).map { $0 * 4 }
        let v = FloatGemmTests.values(keyCount * width, seed: 9)
        func attend(level: Int) -> [Float] {
            var out = [Float](repeating: 0, count: queryCount * width)
            q.withUnsafeBufferPointer { q in
                k.withUnsafeBufferPointer { k in
                    v.withUnsafeBufferPointer { v in
                        out.withUnsafeMutableBufferPointer { out in
                            llmk_attention_bf16_at_level(
                                Int32(level), q.baseAddress! + offset, k.baseAddress! + offset, v.baseAddress! + offset,
                                Int32(width), Int32(queryCount), Int32(keyCount), Int32(headWidth), scale,
                                out.baseAddress! + offset, Int32(width))
                        }
                    }
                }
            }
            return out
        }
        let portable = attend(level: 0)
        for level in 1...2 where level <= Int(llmk_bf16_level()) {
            #expect(attend(level: level).map(\.bitPattern) == portable.map(\.bitPattern), "level \(level)")
        }
        for i in 0..<queryCount {
            let scores = (0..<keyCount).map { j in
                (0..<headWidth).reduce(0.0) { $0 + Double(q[i * width + offset + $1]) * Double(k[j * width + offset + $1]) } * Double(scale)
            }
            let top = scores.max()!, weights = scores.map { exp($0 - top) }, sum = weights.reduce(0, +)
            for d in 0..<headWidth {
                let expected = (0..<keyCount).reduce(0.0) { $0 + weights[$1] * Double(v[$1 * width + offset + d]) } / sum
                #expect(abs(Double(portable[i * width + offset + d]) - expected) < 2e-2)  // values lie in [−1, 1]
            }
            // The other heads' columns are left alone.
            #expect(portable[(i * width)..<(i * width + offset)].allSatisfy { $0 == 0 })
        }
    }

    /// Group normalisation with SiLU and GEGLU: the same bits on every path, and the values of the
    /// formulas computed in double.
    @Test func pointwiseLayersAreTheSameOnEveryPathAndRight() {
        let channels = 64, pixels = 777, groups = 32, perGroup = channels / groups
        let x = FloatGemmTests.values(channels * pixels, seed: 10).map { $0 * 3 + 1 }
        let scale = (0..<channels).map { 1 + 0.01 * Float($0) }, shift = (0..<channels).map { 0.1 * Float($0) }
        func normed(level: Int) -> [Float] {
            var y = x
            llmk_group_norm_at_level(Int32(level), &y, Int32(pixels), Int32(perGroup), 0, Int32(groups), scale, shift, 1e-5, 1)
            return y
        }
        let portableNorm = normed(level: 0)
        #expect(normed(level: Int(llmk_best_level())).map(\.bitPattern) == portableNorm.map(\.bitPattern))
        for group in 0..<groups {
            let slice = x[(group * perGroup * pixels)..<((group + 1) * perGroup * pixels)].map(Double.init)
            let mean = slice.reduce(0, +) / Double(slice.count)
            let inverse = 1 / (slice.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(slice.count) + 1e-5).squareRoot()
            for (i, value) in slice.enumerated() {
                let channel = group * perGroup + i / pixels
                let v = (value - mean) * inverse * Double(scale[channel]) + Double(shift[channel])
                #expect(abs(Double(portableNorm[group * perGroup * pixels + i]) - v / (1 + exp(-v))) < 1e-5)
            }
        }

        let rows = 9, inner = 100
        let projected = FloatGemmTests.values(rows * 2 * inner, seed: 11).map { $0 * 4 }
        func geglu(level: Int) -> [Float] {
            var out = [Float](repeating: 0, count: rows * inner)
            llmk_geglu_at_level(Int32(level), projected, Int32(rows), Int32(inner), &out)
            return out
        }
        let portable = geglu(level: 0)
        #expect(geglu(level: Int(llmk_best_level())).map(\.bitPattern) == portable.map(\.bitPattern))
        for r in 0..<rows {
            for i in 0..<inner {
                let gate = Double(projected[r * 2 * inner + inner + i])
                let expected = Double(projected[r * 2 * inner + i]) * 0.5 * gate * (1 + erf(gate / 2.0.squareRoot()))
                #expect(abs(Double(portable[r * inner + i]) - expected) < 1e-5)
            }
        }
    }

    /// Layer normalisation: the same bits on every path, and the formula computed in double.
    @Test func layerNormIsTheSameOnEveryPathAndRight() {
        let rows = 13, width = 323
        let x = FloatGemmTests.values(rows * width, seed: 12).map { $0 * 5 - 2 }
        let scale = (0..<width).map { 1 + 0.01 * Float($0) }, shift = (0..<width).map { 0.02 * Float($0) - 1 }
        func normed(level: Int) -> [Float] {
            var y = x
            llmk_layer_norm_at_level(Int32(level), &y, Int32(rows), Int32(width), scale, shift, 1e-5)
            return y
        }
        let portable = normed(level: 0)
        for level in (0...Int(llmk_best_level())).dropFirst() {
            #expect(normed(level: level).map(\.bitPattern) == portable.map(\.bitPattern), "level \(level)")
        }
        for r in 0..<rows {
            let row = x[(r * width)..<((r + 1) * width)].map(Double.init)
            let mean = row.reduce(0, +) / Double(width)
            let inverse = 1 / (row.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(width) + 1e-5).squareRoot()
            for i in 0..<width {
                let expected = (row[i] - mean) * inverse * Double(scale[i]) + Double(shift[i])
                #expect(abs(Double(portable[r * width + i]) - expected) < 1e-5)
            }
        }
    }

    /// Attention across frames (runs of `frames` rows) against the sums in double: each query sees
    /// only its own run's keys, head by head; runs outside the range asked for are left alone.
    @Test(arguments: [(16, 320, 8), (7, 48, 2), (32, 64, 8)])
    func framesAttentionIsTheSoftmaxWithinEachRun(_ shape: (Int, Int, Int)) {
        let (frames, width, heads) = shape
        let runs = 5, headWidth = width / heads
        let q = FloatGemmTests.values(runs * frames * width, seed: 13).map { $0 * 2 - 1 }
        let k = FloatGemmTests.values(runs * frames * width, seed: 14).map { $0 * 2 - 1 }
        let v = FloatGemmTests.values(runs * frames * width, seed: 15).map { $0 * 2 - 1 }
        var out = [Float](repeating: 7, count: runs * frames * width)
        let scale = 1 / Float(headWidth).squareRoot()
        llmk_frames_attention(q, k, v, Int32(frames), Int32(width), Int32(heads), scale, 1, Int32(runs - 1), &out)
        #expect(out[0..<(frames * width)].allSatisfy { $0 == 7 })
        for run in 1..<runs {
            for h in 0..<heads {
                for i in 0..<frames {
                    let row = (run * frames + i) * width + h * headWidth
                    let scores = (0..<frames).map { j in
                        (0..<headWidth).reduce(0.0) { $0 + Double(q[row + $1]) * Double(k[(run * frames + j) * width + h * headWidth + $1]) }
                            * Double(scale)
                    }
                    let largest = scores.max()!
                    let weights = scores.map { exp($0 - largest) }, sum = weights.reduce(0, +)
                    for d in 0..<headWidth {
                        let expected = (0..<frames).reduce(0.0) {
                            $0 + weights[$1] * Double(v[(run * frames + $1) * width + h * headWidth + d])
                        } / sum
                        #expect(abs(Double(out[row + d]) - expected) < 1e-5)
                    }
                }
            }
        }
    }
}
