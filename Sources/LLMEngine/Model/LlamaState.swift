import LLMKernels

/// One sequence's memory: its KV cache, how far it has got, and the logits of its last token.
/// The cache is allocated up front, in 2 MB pages where the system lends them (`LargeAllocation`),
/// which a sequence commits as it reaches them: each layer and head has its own stretch, so even
/// a short conversation commits most of its capacity.
public final class LlamaState: @unchecked Sendable {
    // @unchecked: a state belongs to one sequence and is used by one forward pass at a time.
    public let capacity: Int
    public internal(set) var position = 0
    let config: LlamaConfig
    let format: Format

    /// How the cache keeps keys and values: in half precision as llama.cpp does (the llama-cpp
    /// order, whose attention is llama.cpp's to the bit), or as 8-bit integers with a scale per 32
    /// (the blockwise order: half the bytes, and attention reads every byte of its sequence's
    /// cache once per token, from memory when many sequences share the processor).
    enum Format {
        case half
        case bytes
    }

    /// Keys and values per layer, KV head and position. Each head's positions lie one after
    /// another, so attention streams through them: with many sequences the cache outgrows the
    /// processor's caches, and position-major rows (all heads of a position together) made every
    /// head's read a strided one — 12% slower attention, measured.
    private let keyCache: UnsafeMutableRawPointer
    private let valueCache: UnsafeMutableRawPointer
    /// Per layer and KV head: the scales of each position's keys and values, per 32, in half precision
    /// (`.bytes` only).
    private let keyScales: UnsafeMutablePointer<UInt16>
    private let valueScales: UnsafeMutablePointer<UInt16>
    private let blocksPerRow: Int
    /// Positions per head in the cache: `.bytes` keeps keys in eights, so a whole number of eights.
    private let rowsPerHead: Int
    public let logits: UnsafeMutableBufferPointer<Float>
    /// For `forward(token:state:)`, one token at a time; made by the model on first use.
    var singleTokenScratch: ForwardScratch?

    init(config: LlamaConfig, capacity: Int, format: Format) {
        self.config = config
        self.capacity = capacity
        self.format = format
        rowsPerHead = format == .bytes ? (capacity + 7) / 8 * 8 : capacity
        let rows = config.layerCount * config.kvHeadCount * rowsPerHead
        let bytes = rows * config.headDimension * (format == .half ? 2 : 1)
        keyCache = LargeAllocation.allocate(byteCount: bytes)
        valueCache = LargeAllocation.allocate(byteCount: bytes)
        blocksPerRow = (config.headDimension + 31) / 32
        let scaleCount = format == .bytes ? rows * blocksPerRow : 0
        keyScales = .allocate(capacity: scaleCount)
        valueScales = .allocate(capacity: scaleCount)
        logits = .allocate(capacity: config.vocabularySize)
        logits.initialize(repeating: 0)
    }

    /// Forgets the sequence so the state can serve another.
    public func reset() {
        position = 0
    }

    /// Writes the key and value (`headDimension` floats each) of `layer`'s KV head `head` at `position`.
    func store(layer: Int, head: Int, position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        let row = firstRow(layer: layer, head: head), length = config.headDimension
        switch format {
        case .half:
            llmk_to_half(key, halfKeys(row) + position * length, Int32(length))
            llmk_to_half(value, halfValues(row) + position * length, Int32(length))
        case .bytes:
            llmk_store_kv8(key, value, Int32(length), Int32(position), Int32(rowsPerHead), byteKeys(row),
                           keyScales + row * blocksPerRow, byteValues(row), valueScales + row * blocksPerRow)
        }
    }

    /// The first `count` positions of `layer`'s KV head `head`, in half precision (`.half` only).
    func halfCache(layer: Int, head: Int, count: Int) -> llmk_cache_view {
        let row = firstRow(layer: layer, head: head)
        return llmk_cache_view(keys: halfKeys(row), values: halfValues(row), count: Int32(count))
    }

    /// The first `count` positions of `layer`'s KV head `head`, in bytes (`.bytes` only).
    func byteCache(layer: Int, head: Int, count: Int) -> llmk_kv8_view {
        let row = firstRow(layer: layer, head: head)
        return llmk_kv8_view(keys: byteKeys(row), key_scales: keyScales + row * blocksPerRow, values: byteValues(row),
                             value_scales: valueScales + row * blocksPerRow, count: Int32(count), rows: Int32(rowsPerHead))
    }

    private func firstRow(layer: Int, head: Int) -> Int { (layer * config.kvHeadCount + head) * rowsPerHead }

    private func halfKeys(_ row: Int) -> UnsafeMutablePointer<UInt16> {
        keyCache.assumingMemoryBound(to: UInt16.self) + row * config.headDimension
    }

    private func halfValues(_ row: Int) -> UnsafeMutablePointer<UInt16> {
        valueCache.assumingMemoryBound(to: UInt16.self) + row * config.headDimension
    }

    private func byteKeys(_ row: Int) -> UnsafeMutablePointer<UInt8> {
        keyCache.assumingMemoryBound(to: UInt8.self) + row * config.headDimension
    }

    private func byteValues(_ row: Int) -> UnsafeMutablePointer<Int8> {
        valueCache.assumingMemoryBound(to: Int8.self) + row * config.headDimension
    }

    deinit {
        LargeAllocation.free(keyCache)
        LargeAllocation.free(valueCache)
        keyScales.deallocate()
        valueScales.deallocate()
        logits.deallocate()
    }
}
