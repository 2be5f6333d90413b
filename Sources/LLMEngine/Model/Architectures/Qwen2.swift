extension ModelArchitecture {
    /// Qwen 2 and 2.5: Llama's layout with biases on Q, K and V (found in the file) and RoPE pairs
    /// half a head apart.
    public static let qwen2 = ModelArchitecture(name: "qwen2", rotaryStyle: .halves)
}
