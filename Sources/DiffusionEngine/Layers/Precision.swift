import LLMKernels

/// How the engine multiplies: `float32` is exact (the reference's arithmetic, what the tests
/// compare at 1e-4); `bfloat16` keeps weights in BF16 (half the memory) and rounds activations to
/// BF16 inside the products, which add in float — several times faster where the CPU has BF16 dot
/// products (AVX-512 BF16), and still faster on AVX2.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case float32
    case bfloat16

    /// BF16 wherever the CPU has vector paths for it (AVX2 or better), else float.
    public static var fastest: Precision { llmk_bf16_level() >= 1 ? .bfloat16 : .float32 }
}
