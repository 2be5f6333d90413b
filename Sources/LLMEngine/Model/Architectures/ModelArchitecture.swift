/// What sets one decoder-only architecture apart from Llama's: each supported architecture is a
/// value of this type, in a file of its own, and the forward pass asks these questions instead of
/// the architecture's name.
public struct ModelArchitecture: Sendable, Equatable {
    /// The GGUF `general.architecture` name, also the prefix of its metadata keys.
    public var name: String
    public var rotaryStyle: RotaryStyle = .adjacentPairs
    /// Each query and key head RMS-normalized (its own weights) before RoPE: Gemma 3, Qwen 3.
    public var normalizesQueriesAndKeys = false
    /// The attention and feed-forward outputs RMS-normalized before they join the residual stream
    /// (Gemma's `post_attention_norm` and `post_ffw_norm`).
    public var normalizesSublayerOutputs = false
    /// The token embedding multiplied by √(embedding length) (Gemma).
    public var scalesEmbedding = false
    public var activation: Activation = .silu
    /// Queries multiplied by 1/√head after RoPE (rounded there), attention's scores then taken
    /// as they are (Gemma 3, as llama.cpp builds it); otherwise the scores are scaled.
    public var scalesQueries = false
    /// Where attention is limited to a sliding window: every `n`th layer (the last of each `n`)
    /// attends globally, the others over the window (Gemma 3: 6); `nil` for global attention only.
    public var slidingWindowPattern: Int?
    /// The RoPE base of the sliding-window layers, where it is not the file's (Gemma 3: 10,000,
    /// as llama.cpp fixes it; the file's base is the global layers').
    public var slidingRopeBase: Float?

    /// Which values of a head RoPE rotates together: llama.cpp's converter permutes Llama's Q and
    /// K so that pairs are adjacent; the others keep the original layout, pairs half a head apart
    /// (llama.cpp's "NeoX" style).
    public enum RotaryStyle: Sendable, Equatable {
        case adjacentPairs
        case halves
    }

    /// The gated feed-forward's activation: down(act(gate·x) ⊙ up·x).
    public enum Activation: Sendable, Equatable {
        case silu
        /// GELU with tanh, as llama.cpp computes it: from a table over half-precision inputs.
        case geluTanh
    }

    /// Every architecture the engine runs, by name.
    public static let supported: [String: ModelArchitecture] = Dictionary(
        uniqueKeysWithValues: [llama, qwen2, qwen3, gemma3, phi3].map { ($0.name, $0) })
}
