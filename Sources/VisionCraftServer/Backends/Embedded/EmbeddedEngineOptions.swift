/// How an embedded model is run: what one sequence may hold, how many run at once (together
/// the bound on KV-cache memory), and how many threads compute.
public struct EmbeddedEngineOptions: Sendable, Equatable {
    public var contextLength: Int
    public var sequences: Int
    public var threads: Int

    public init(contextLength: Int, sequences: Int, threads: Int) {
        self.contextLength = contextLength
        self.sequences = sequences
        self.threads = threads
    }
}
