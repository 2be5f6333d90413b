/// One sequence's memory: its KV cache, how far it has got, and the logits of its last token.
/// The cache is allocated up front but only the pages a sequence reaches are ever touched, so a
/// short conversation costs little of the configured capacity.
public final class LlamaState: @unchecked Sendable {
    // @unchecked: a state belongs to one sequence and is used by one forward pass at a time.
    public let capacity: Int
    public internal(set) var position = 0
    let config: LlamaConfig

    /// Keys and values per layer, KV head and position, in half precision as llama.cpp keeps
    /// them (as bit patterns: the C kernels convert them). Each head's positions lie one after
    /// another, so attention streams through them: with many sequences the cache outgrows the
    /// processor's caches, and position-major rows (all heads of a position together) made every
    /// head's read a strided one — 12% slower attention, measured.
    let keyCache: UnsafeMutablePointer<UInt16>
    let valueCache: UnsafeMutablePointer<UInt16>
    public let logits: UnsafeMutableBufferPointer<Float>
    /// For `forward(token:state:)`, one token at a time; made by the model on first use.
    var singleTokenScratch: ForwardScratch?

    public init(config: LlamaConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        let cacheCount = config.layerCount * capacity * config.kvDimension
        keyCache = .allocate(capacity: cacheCount)
        valueCache = .allocate(capacity: cacheCount)
        logits = .allocate(capacity: config.vocabularySize)
        logits.initialize(repeating: 0)
    }

    /// Forgets the sequence so the state can serve another.
    public func reset() {
        position = 0
    }

    /// The cache of one KV head of `layer` from position 0, `headDimension` halves per position.
    func keys(layer: Int, head: Int) -> UnsafeMutablePointer<UInt16> { keyCache + offset(layer: layer, head: head) }
    func values(layer: Int, head: Int) -> UnsafeMutablePointer<UInt16> { valueCache + offset(layer: layer, head: head) }

    private func offset(layer: Int, head: Int) -> Int {
        (layer * config.kvHeadCount + head) * capacity * config.headDimension
    }

    deinit {
        keyCache.deallocate()
        valueCache.deallocate()
        logits.deallocate()
    }
}
