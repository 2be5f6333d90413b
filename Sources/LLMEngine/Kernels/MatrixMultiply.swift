import LLMKernels

/// Y = X·Wᵀ for one weight matrix in any supported type: row `r` of the tensor (its first
/// dimension, contiguous) dotted with each input vector. Quantized weights go through the C
/// kernels against 8-bit activations; other types through floats, a row at a time.
enum MatrixMultiply {
    /// Writes `output[b * outputStride + r]` for the weight rows `rows` and the `batch` vectors of
    /// `input` (each `weight.rowLength` long, one after another), whose 8-bit form is `quantized`.
    static func multiply(
        _ weight: GGUFTensor, input: UnsafePointer<Float>, quantized: QuantizedBatch, batch: Int,
        into output: UnsafeMutablePointer<Float>, outputStride: Int, rows: Range<Int>
    ) {
        guard !rows.isEmpty else { return }
        // llama.cpp repacks Q4_0 matrices whose row count is a multiple of 8 and sums them per block.
        let type = weight.type == .q4_0 && weight.rowCount % 8 == 0 ? Int32(LLMK_Q4_0_BLOCKWISE) : Int32(weight.type.rawValue)
        let handled = llmk_matmul(
            type, weight.bytes.baseAddress!, weight.rowBytes, Int32(weight.rowLength / 32),
            quantized.kernelView, Int32(batch), output, Int32(outputStride), Int32(rows.lowerBound), Int32(rows.upperBound))
        if handled != 0 { return }

        let length = weight.rowLength
        let rowValues = UnsafeMutableBufferPointer<Float>.allocate(capacity: length)
        defer { rowValues.deallocate() }
        for row in rows {
            Dequantize.row(
                UnsafeRawBufferPointer(rebasing: weight.bytes[row * weight.rowBytes..<(row + 1) * weight.rowBytes]),
                type: weight.type, into: rowValues)
            for b in 0..<batch {
                let x = input + b * length
                var sum: Float = 0
                for j in 0..<length { sum += rowValues[j] * x[j] }
                output[b * outputStride + row] = sum
            }
        }
    }
}
