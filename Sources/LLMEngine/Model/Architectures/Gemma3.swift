extension ModelArchitecture {
    /// Gemma 3 (text): the embedding scaled by √dim, per-head Q/K norms, norms both before and after
    /// attention and the feed-forward block, GELU-gated feed-forward, and five sliding-window layers
    /// (RoPE base 10,000) for each global one (the file's base). The norm weights already hold
    /// Gemma's "1 +": llama.cpp's converter adds it.
    public static let gemma3 = ModelArchitecture(
        name: "gemma3", rotaryStyle: .halves, normalizesQueriesAndKeys: true, normalizesSublayerOutputs: true,
        scalesEmbedding: true, activation: .geluTanh, scalesQueries: true, slidingWindowPattern: 6,
        slidingRopeBase: 10_000)
}
