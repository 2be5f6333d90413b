/// Everything one sequence needs while it generates: its KV cache and scratch buffers, all
/// allocated once, up front, so a token costs no allocation.
public final class LlamaState: @unchecked Sendable {
    // @unchecked: a state belongs to one sequence and is used by one thread at a time.
    public let capacity: Int
    public internal(set) var position = 0
    let config: LlamaConfig

    /// Keys and values per layer, position and KV head, in half precision as llama.cpp keeps them.
    let keyCache: UnsafeMutablePointer<Float16>
    let valueCache: UnsafeMutablePointer<Float16>
    let x: UnsafeMutableBufferPointer<Float>
    let normalized: UnsafeMutableBufferPointer<Float>
    let query: UnsafeMutableBufferPointer<Float>
    let key: UnsafeMutableBufferPointer<Float>
    let value: UnsafeMutableBufferPointer<Float>
    let attentionOut: UnsafeMutableBufferPointer<Float>
    let projected: UnsafeMutableBufferPointer<Float>
    let gate: UnsafeMutableBufferPointer<Float>
    let up: UnsafeMutableBufferPointer<Float>
    let scores: UnsafeMutableBufferPointer<Float>
    public let logits: UnsafeMutableBufferPointer<Float>
    var quantizedEmbedding: QuantizedActivations
    var quantizedHidden: QuantizedActivations

    public init(config: LlamaConfig, capacity: Int) {
        self.config = config
        self.capacity = capacity
        let cacheCount = config.layerCount * capacity * config.kvDimension
        keyCache = .allocate(capacity: cacheCount)
        valueCache = .allocate(capacity: cacheCount)
        func buffer(_ count: Int) -> UnsafeMutableBufferPointer<Float> {
            let buffer = UnsafeMutableBufferPointer<Float>.allocate(capacity: count)
            buffer.initialize(repeating: 0)
            return buffer
        }
        x = buffer(config.embeddingLength)
        normalized = buffer(config.embeddingLength)
        query = buffer(config.embeddingLength)
        key = buffer(config.kvDimension)
        value = buffer(config.kvDimension)
        attentionOut = buffer(config.embeddingLength)
        projected = buffer(config.embeddingLength)
        gate = buffer(config.feedForwardLength)
        up = buffer(config.feedForwardLength)
        scores = buffer(capacity)
        logits = buffer(config.vocabularySize)
        quantizedEmbedding = QuantizedActivations(capacity: config.embeddingLength)
        quantizedHidden = QuantizedActivations(capacity: config.feedForwardLength)
    }

    /// Forgets the sequence so the state can serve another.
    public func reset() {
        position = 0
    }

    deinit {
        keyCache.deallocate()
        valueCache.deallocate()
        for buffer in [x, normalized, query, key, value, attentionOut, projected, gate, up, scores, logits] {
            buffer.deallocate()
        }
    }
}
