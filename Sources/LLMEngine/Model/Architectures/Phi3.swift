extension ModelArchitecture {
    /// Phi-3 (and 3.5) mini: Llama's layout with Q, K and V in one matrix (`attn_qkv`) and the
    /// feed-forward's gate and up in one (`ffn_up`, the gate's rows first) — the weights are split
    /// into their parts at load, so the forward pass is Llama's — RoPE pairs half a head apart, and
    /// queries scaled before attention, as llama.cpp builds it. The 128k-context variants' RoPE
    /// factors are not supported (such files are refused).
    public static let phi3 = ModelArchitecture(name: "phi3", rotaryStyle: .halves, scalesQueries: true)
}
