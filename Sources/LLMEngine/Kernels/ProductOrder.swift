/// How the integer matrix products add up their terms — the one place the engine's arithmetic
/// may leave llama.cpp's.
public enum ProductOrder: String, Sendable, CaseIterable, Codable {
    /// Weights copied at load into groups of eight rows; each block's exact integer dot product is
    /// scaled once per (row, vector). The same inputs as llama.cpp, a different rounding order:
    /// logits agree with llama.cpp's to about a millionth of their size, and batched products run
    /// about three times as fast as in llama.cpp's order.
    case blockwise
    /// llama.cpp's own order, on the file's layout: eight lanes per block, each scaled into its own
    /// sum. Logits are llama.cpp's to the bit, so greedy output matches it token for token.
    case llamaCpp = "llama-cpp"
}
