import LLMKernels

/// Y = X·Wᵀ for one weight matrix in any supported type: row `r` of the tensor (its first
/// dimension, contiguous) dotted with each input vector. Weights with an integer path go through
/// the C kernels against 8-bit activations; the others (F32, F16, Q4_K, Q6_K) through floats, each
/// row turned into floats once for the whole batch.
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
        let handledAsFloats = llmk_matmul_float_at_level(
            -1, Int32(weight.type.rawValue), weight.bytes.baseAddress!, weight.rowBytes, Int32(weight.rowLength),
            input, Int32(batch), output, Int32(outputStride), Int32(rows.lowerBound), Int32(rows.upperBound))
        precondition(handledAsFloats != 0, "no product for \(weight.type.name) weights")
    }
}
