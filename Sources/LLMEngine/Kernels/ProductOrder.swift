/// How the quantized products add up their terms — matrix products, and attention's products
/// with the KV cache: the one place the engine's arithmetic may leave llama.cpp's.
public enum ProductOrder: String, Sendable, CaseIterable, Codable {
    /// Weights copied at load into groups of sixteen rows; each block's exact integer dot product is
    /// scaled once per (row, vector). The KV cache in 8-bit integers with a scale, attention's
    /// products in integers too. Logits agree with llama.cpp's to within a few tenths; batched
    /// products run about three times as fast as in llama.cpp's order, and attention reads half the
    /// bytes.
    case blockwise
    /// llama.cpp's own order, on the file's layout: eight lanes per block, each scaled into its own
    /// sum, and its half-precision KV cache and attention arithmetic. Logits are llama.cpp's to the
    /// bit, so greedy output matches it token for token.
    case llamaCpp = "llama-cpp"
}
