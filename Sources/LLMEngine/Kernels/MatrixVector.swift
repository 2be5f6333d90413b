/// y = W·x for one weight matrix in any supported type: row `r` of the tensor (its first
/// dimension, contiguous) dotted with the input. The innermost loops of the engine.
enum MatrixVector {
    /// Computes output rows `rows` of `weight` times `input`. `quantized` must hold `input`
    /// quantized when the weight type multiplies against 8-bit activations.
    static func multiply(
        _ weight: GGUFTensor, input: UnsafeBufferPointer<Float>, quantized: QuantizedActivations,
        into output: UnsafeMutableBufferPointer<Float>, rows: Range<Int>
    ) {
        let rowBytes = weight.rowBytes
        let base = weight.bytes.baseAddress!
        switch weight.type {
        case .q4_1:
            quantized.scales.withUnsafeBufferPointer { scales in
                quantized.scaledSums.withUnsafeBufferPointer { sums in
                    quantized.values.withUnsafeBufferPointer { values in
                        for row in rows {
                            output[row] = dotQ4_1(base + row * rowBytes, blocks: input.count / 32, scales, sums, values)
                        }
                    }
                }
            }
        case .q4_0:
            quantized.scales.withUnsafeBufferPointer { scales in
                quantized.values.withUnsafeBufferPointer { values in
                    for row in rows {
                        output[row] = dotQ4_0(base + row * rowBytes, blocks: input.count / 32, scales, values)
                    }
                }
            }
        case .q8_0:
            quantized.scales.withUnsafeBufferPointer { scales in
                quantized.values.withUnsafeBufferPointer { values in
                    for row in rows {
                        output[row] = dotQ8_0(base + row * rowBytes, blocks: input.count / 32, scales, values)
                    }
                }
            }
        case .f32:
            for row in rows {
                let weights = (base + row * rowBytes).assumingMemoryBound(to: Float.self)
                var sum: Float = 0
                for j in 0..<input.count { sum += weights[j] * input[j] }
                output[row] = sum
            }
        case .f16, .q4_K, .q6_K:
            // Not in the default model: the plain path, a row at a time through floats.
            var rowValues = [Float](repeating: 0, count: weight.rowLength)
            rowValues.withUnsafeMutableBufferPointer { buffer in
                for row in rows {
                    Dequantize.row(UnsafeRawBufferPointer(start: base + row * rowBytes, count: rowBytes),
                                   type: weight.type, into: buffer)
                    var sum: Float = 0
                    for j in 0..<input.count { sum += buffer[j] * input[j] }
                    output[row] = sum
                }
            }
        }
    }

    /// Q4_1 weights · Q8_1 activations: per block (d_w·d_x)·Σ q_w·q_x + m_w·s_x. Summed as
    /// llama.cpp's x86 kernel does — eight lanes of four products, fused multiply-adds across
    /// blocks, the minimum terms apart — so the rounding, and so greedy output, is the same.
    @inline(__always)
    static func dotQ4_1(
        _ row: UnsafeRawPointer, blocks: Int, _ scales: UnsafeBufferPointer<Float>, _ sums: UnsafeBufferPointer<Float>,
        _ values: UnsafeBufferPointer<Int8>
    ) -> Float {
        var accumulator = SIMD8<Float>(repeating: 0)
        var minimumTerms: Float = 0
        for block in 0..<blocks {
            let pointer = row + block * 20
            let d = Float(Float16(bitPattern: pointer.loadUnaligned(as: UInt16.self)))
            let m = Float(Float16(bitPattern: pointer.loadUnaligned(fromByteOffset: 2, as: UInt16.self)))
            minimumTerms += m * sums[block]
            let packed = (pointer + 4).assumingMemoryBound(to: UInt8.self)
            let x = values.baseAddress! + block * 32
            var lanes = SIMD8<Int32>(repeating: 0)
            for lane in 0..<4 {
                var low: Int32 = 0, high: Int32 = 0
                for k in 0..<4 {
                    let j = lane * 4 + k
                    low += Int32(packed[j] & 0x0F) * Int32(x[j])
                    high += Int32(packed[j] >> 4) * Int32(x[j + 16])
                }
                lanes[lane] = low
                lanes[lane + 4] = high
            }
            accumulator.addProduct(SIMD8(repeating: d * scales[block]), SIMD8<Float>(lanes))
        }
        return horizontalSum(accumulator) + minimumTerms
    }

    /// ggml's `hsum_float_8`: halves added pairwise, then the two remaining pairs.
    @inline(__always)
    static func horizontalSum(_ v: SIMD8<Float>) -> Float {
        let r0 = v[4] + v[0], r1 = v[5] + v[1], r2 = v[6] + v[2], r3 = v[7] + v[3]
        return (r0 + r2) + (r1 + r3)
    }

    /// Q4_0 weights · Q8_0 activations: per block d_w·d_x·Σ (q_w − 8)·q_x.
    @inline(__always)
    static func dotQ4_0(_ row: UnsafeRawPointer, blocks: Int, _ scales: UnsafeBufferPointer<Float>, _ values: UnsafeBufferPointer<Int8>) -> Float {
        var total: Float = 0
        for block in 0..<blocks {
            let pointer = row + block * 18
            let d = Float(Float16(bitPattern: pointer.loadUnaligned(as: UInt16.self)))
            let packed = (pointer + 2).assumingMemoryBound(to: UInt8.self)
            let x = values.baseAddress! + block * 32
            var integer: Int32 = 0
            for j in 0..<16 {
                let byte = packed[j]
                integer += (Int32(byte & 0x0F) - 8) * Int32(x[j]) + (Int32(byte >> 4) - 8) * Int32(x[j + 16])
            }
            total += d * scales[block] * Float(integer)
        }
        return total
    }

    /// Q8_0 weights · Q8_0 activations: per block d_w·d_x·Σ q_w·q_x, in llama.cpp's lane order.
    @inline(__always)
    static func dotQ8_0(_ row: UnsafeRawPointer, blocks: Int, _ scales: UnsafeBufferPointer<Float>, _ values: UnsafeBufferPointer<Int8>) -> Float {
        var accumulator = SIMD8<Float>(repeating: 0)
        for block in 0..<blocks {
            let pointer = row + block * 34
            let d = Float(Float16(bitPattern: pointer.loadUnaligned(as: UInt16.self)))
            let weights = (pointer + 2).assumingMemoryBound(to: Int8.self)
            let x = values.baseAddress! + block * 32
            var lanes = SIMD8<Int32>(repeating: 0)
            for lane in 0..<8 {
                var sum: Int32 = 0
                for k in 0..<4 { sum += Int32(weights[lane * 4 + k]) * Int32(x[lane * 4 + k]) }
                lanes[lane] = sum
            }
            accumulator.addProduct(SIMD8(repeating: d * scales[block]), SIMD8<Float>(lanes))
        }
        return horizontalSum(accumulator)
    }
}
