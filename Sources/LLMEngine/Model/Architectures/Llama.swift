extension ModelArchitecture {
    /// Llama 2 and 3, and the models that share its layout (SmolLM2, TinyLlama, Mistral): the
    /// reference every other architecture is described against.
    public static let llama = ModelArchitecture(name: "llama")
}
