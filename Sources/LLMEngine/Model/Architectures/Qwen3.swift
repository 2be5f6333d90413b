extension ModelArchitecture {
    /// Qwen 3 (dense): Qwen 2's layout without the biases, each query and key head RMS-normalized
    /// before RoPE, and heads whose width is its own (`attention.key_length`), not the embedding's
    /// share.
    public static let qwen3 = ModelArchitecture(name: "qwen3", rotaryStyle: .halves, normalizesQueriesAndKeys: true)
}
