/// The working memory of a forward pass over up to `tokens` tokens at once, allocated once and
/// reused so that a step costs no allocation. Vectors of the batch lie one after another.
public final class ForwardScratch: @unchecked Sendable {
    // @unchecked: used by one forward pass at a time.
    public let tokens: Int
    let x: UnsafeMutablePointer<Float>
    let query: UnsafeMutablePointer<Float>
    let key: UnsafeMutablePointer<Float>
    let value: UnsafeMutablePointer<Float>
    let attentionOut: UnsafeMutablePointer<Float>
    let projected: UnsafeMutablePointer<Float>
    let gate: UnsafeMutablePointer<Float>
    let up: UnsafeMutablePointer<Float>
    /// Per token and RoPE of the model (`LlamaConfig.rotations`): cos and sin of each rotary pair's
    /// angle at the token's position.
    let rotation: UnsafeMutablePointer<Float>
    /// Per compute thread, `scoresPerThread` floats: attention's scores over the whole context
    /// for each query head of a KV head's group, and the 8-bit cache's weight bytes.
    let scores: UnsafeMutablePointer<Float>
    let scoresPerThread: Int
    let quantizedEmbedding: QuantizedBatch
    /// Attention's output (all query heads) in 8-bit form, for the projection after it.
    let quantizedAttention: QuantizedBatch
    let quantizedHidden: QuantizedBatch
    /// Per compute thread, the residual stream normalized for the product it is about to take part
    /// in, and its 8-bit form: each thread normalizes every token for itself (see `LlamaModel`).
    private let threadNormalized: UnsafeMutablePointer<Float>
    let threadQuantized: [QuantizedBatch]
    private let embeddingLength: Int
    /// Logits of the tokens that asked for them, grown on demand: the vocabulary is large.
    private(set) var logits: UnsafeMutablePointer<Float>
    private var logitRows = 0
    private let vocabularySize: Int
    private let buffers: [UnsafeMutablePointer<Float>]

    public init(config: LlamaConfig, tokens: Int, threads: Int) {
        self.tokens = tokens
        vocabularySize = config.vocabularySize
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let pointer = UnsafeMutablePointer<Float>.allocate(capacity: count)
            pointer.initialize(repeating: 0, count: count)
            return pointer
        }
        x = buffer(tokens * config.embeddingLength)
        query = buffer(tokens * config.queryWidth)
        key = buffer(tokens * config.kvDimension)
        value = buffer(tokens * config.kvDimension)
        // Also where the final norm of the tokens that want logits goes.
        attentionOut = buffer(tokens * max(config.queryWidth, config.embeddingLength))
        projected = buffer(tokens * config.embeddingLength)
        gate = buffer(tokens * config.feedForwardLength)
        up = buffer(tokens * config.feedForwardLength)
        rotation = buffer(tokens * config.headDimension * config.rotations.count)
        scoresPerThread = (config.headCount / config.kvHeadCount + 2) * config.contextLength + 64
        scores = buffer(max(1, threads) * scoresPerThread)
        quantizedEmbedding = QuantizedBatch(length: config.embeddingLength, capacity: tokens)
        quantizedAttention = QuantizedBatch(length: config.queryWidth, capacity: tokens)
        quantizedHidden = QuantizedBatch(length: config.feedForwardLength, capacity: tokens)
        embeddingLength = config.embeddingLength
        threadNormalized = buffer(max(1, threads) * tokens * config.embeddingLength)
        threadQuantized = (0..<max(1, threads)).map { _ in QuantizedBatch(length: config.embeddingLength, capacity: tokens) }
        logits = buffer(0)
        buffers = [x, query, key, value, attentionOut, projected, gate, up, rotation, scores, threadNormalized]
    }

    /// Thread `thread`'s normalized residual stream.
    func normalized(thread: Int) -> UnsafeMutablePointer<Float> {
        threadNormalized + thread * tokens * embeddingLength
    }

    func reserveLogits(rows: Int) {
        guard rows > logitRows else { return }
        logits.deallocate()
        logits = .allocate(capacity: rows * vocabularySize)
        logitRows = rows
    }

    deinit {
        for buffer in buffers { buffer.deallocate() }
        logits.deallocate()
    }
}
