import LLMKernels

/// Turns stored weights of any supported type back into floats, following ggml's reference
/// formulas block by block. The plain path: matrix kernels work on blocks directly instead.
public enum Dequantize {
    /// Dequantizes `source`, a whole number of `type` blocks, into `destination`.
    public static func row(_ source: UnsafeRawBufferPointer, type: GGMLType, into destination: UnsafeMutableBufferPointer<Float>) {
        let blocks = source.count / type.blockBytes
        precondition(blocks * type.blockElements <= destination.count, "destination too small")
        // Whole rows of plain values at once (F16 through F16C where the CPU has it), not value by value.
        switch type {
        case .f16:
            return llmk_from_half(source.baseAddress!.assumingMemoryBound(to: UInt16.self), destination.baseAddress!, blocks)
        case .f32:
            return UnsafeMutableRawPointer(destination.baseAddress!).copyMemory(from: source.baseAddress!, byteCount: blocks * 4)
        case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS:
            // In C, shared with the rewrite for the integer kernels (KQuants.c).
            let handled = llmk_dequantize_row(Int32(type.rawValue), source.baseAddress!, Int32(blocks * type.blockElements),
                                              destination.baseAddress!)
            precondition(handled != 0)
            return
        default: break
        }
        for block in 0..<blocks {
            let input = UnsafeRawBufferPointer(rebasing: source[block * type.blockBytes..<(block + 1) * type.blockBytes])
            let output = UnsafeMutableBufferPointer(rebasing: destination[block * type.blockElements..<(block + 1) * type.blockElements])
            switch type {
            case .f32: output[0] = input.loadUnaligned(as: Float.self)
            case .f16: output[0] = half(input, 0)
            case .q4_0: q4_0(input, output)
            case .q4_1: q4_1(input, output)
            case .q5_0: q5(input, output, minimum: false)
            case .q5_1: q5(input, output, minimum: true)
            case .q8_0: q8_0(input, output)
            case .q2_K, .q3_K, .q4_K, .q5_K, .q6_K, .iq4_NL, .iq4_XS: break  // whole rows above
            }
        }
    }

    @inline(__always)
    static func half(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> Float {
        Float(Float16(bitPattern: bytes.loadUnaligned(fromByteOffset: offset, as: UInt16.self)))
    }

    /// 32 weights: scale d, then 16 bytes of 4-bit values offset by 8; low nibbles are the first half.
    static func q4_0(_ block: UnsafeRawBufferPointer, _ output: UnsafeMutableBufferPointer<Float>) {
        let d = half(block, 0)
        for j in 0..<16 {
            let byte = block[2 + j]
            output[j] = Float(Int(byte & 0x0F) - 8) * d
            output[j + 16] = Float(Int(byte >> 4) - 8) * d
        }
    }

    /// 32 weights: scale d and minimum m, then 16 bytes of unsigned 4-bit values.
    static func q4_1(_ block: UnsafeRawBufferPointer, _ output: UnsafeMutableBufferPointer<Float>) {
        let d = half(block, 0)
        let m = half(block, 2)
        for j in 0..<16 {
            let byte = block[4 + j]
            output[j] = Float(byte & 0x0F) * d + m
            output[j + 16] = Float(byte >> 4) * d + m
        }
    }

    /// 32 weights of 5 bits: scale d (and for Q5_1 a minimum m), the fifth bits of all 32 as a
    /// little-endian word, then their low 4 bits packed as in Q4. Q5_0 is offset by 16.
    static func q5(_ block: UnsafeRawBufferPointer, _ output: UnsafeMutableBufferPointer<Float>, minimum: Bool) {
        let d = half(block, 0)
        let m = minimum ? half(block, 2) : 0
        let bitsOffset = minimum ? 4 : 2
        let fifthBits = block.loadUnaligned(fromByteOffset: bitsOffset, as: UInt32.self).littleEndian
        for j in 0..<16 {
            let byte = block[bitsOffset + 4 + j]
            let low = Int(byte & 0x0F) | Int((fifthBits >> UInt32(j)) & 1) << 4
            let high = Int(byte >> 4) | Int((fifthBits >> UInt32(j + 16)) & 1) << 4
            if minimum {
                output[j] = Float(low) * d + m
                output[j + 16] = Float(high) * d + m
            } else {
                output[j] = Float(low - 16) * d
                output[j + 16] = Float(high - 16) * d
            }
        }
    }

    /// 32 weights: scale d, then 32 signed bytes.
    static func q8_0(_ block: UnsafeRawBufferPointer, _ output: UnsafeMutableBufferPointer<Float>) {
        let d = half(block, 0)
        for j in 0..<32 {
            output[j] = Float(Int8(bitPattern: block[2 + j])) * d
        }
    }
}
