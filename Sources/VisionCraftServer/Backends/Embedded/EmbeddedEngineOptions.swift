import LLMEngine

/// How an embedded model is run: what one sequence may hold, how many run at once (together
/// the bound on KV-cache memory), how many threads compute, and in which order its matrix
/// products add up.
public struct EmbeddedEngineOptions: Sendable, Equatable {
    public var contextLength: Int
    public var sequences: Int
    public var threads: Int
    public var productOrder: ProductOrder

    public init(contextLength: Int, sequences: Int, threads: Int, productOrder: ProductOrder = .blockwise) {
        self.contextLength = contextLength
        self.sequences = sequences
        self.threads = threads
        self.productOrder = productOrder
    }
}
