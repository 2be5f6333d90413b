import LLMKernels

/// One sequence's memory: its KV cache, how far it has got, and the logits of its last token.
/// The cache is allocated up front, in 2 MB pages where the system lends them (`LargeAllocation`),
/// which a sequence commits as it reaches them: each layer and head has its own stretch, so even
/// a short conversation commits most of its capacity.
public final class LlamaState: @unchecked Sendable {
    // @unchecked: a state belongs to one sequence and is used by one forward pass at a time.
    public let capacity: Int
    public internal(set) var position = 0
    /// The tokens whose keys and values the cache holds, positions 0..<position: a later prompt
    /// that starts the same way can keep them (`keep(prefix:)`).
    public internal(set) var history: [BPETokenizer.Token] = []
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
    /// head's read a strided one, and attention slower.
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
        keep(prefix: 0)
    }

    /// Forgets all but the first `count` positions: their keys and values, which depend on those
    /// tokens alone, serve a sequence that starts with the same tokens.
    public func keep(prefix count: Int) {
        precondition(count <= position)
        position = count
        history.removeLast(history.count - count)
    }

    /// Takes the first `count` positions of `other`'s cache (a state of the same model), forgetting
    /// its own: a prefix computed once serves a second sequence while `other` keeps the rest of
    /// its own for later. A copy of bytes, a few hundred kilobytes per thousand positions.
    public func copyPrefix(of other: LlamaState, count: Int) {
        precondition(other.format == format && other.rowsPerHead == rowsPerHead && count <= other.position)
        let length = config.headDimension, width = format == .half ? 2 : 1
        // Keys lie in eights of positions, values in fours (`.bytes`): whole eights are copied.
        let copied = format == .bytes ? min(rowsPerHead, (count + 7) / 8 * 8) : count
        for slot in 0..<config.layerCount * config.kvHeadCount {
            let row = slot * rowsPerHead
            (keyCache + row * length * width).copyMemory(from: other.keyCache + row * length * width,
                                                         byteCount: copied * length * width)
            (valueCache + row * length * width).copyMemory(from: other.valueCache + row * length * width,
                                                           byteCount: copied * length * width)
            guard format == .bytes else { continue }
            for block in 0..<blocksPerRow {
                let start = row * blocksPerRow + block * rowsPerHead
                (keyScales + start).update(from: other.keyScales + start, count: count)
                (valueScales + start).update(from: other.valueScales + start, count: count)
            }
        }
        position = count
        history = Array(other.history.prefix(count))
    }

    /// How many of `tokens`' first tokens this state's cache already holds.
    public func sharedPrefix(with tokens: [BPETokenizer.Token]) -> Int {
        var count = 0
        while count < min(history.count, tokens.count) && history[count] == tokens[count] { count += 1 }
        return count
    }

    /// Where `layer`'s KV head `head` keeps its keys and values.
    func slot(layer: Int, head: Int) -> CacheSlot {
        let row = (layer * config.kvHeadCount + head) * rowsPerHead, length = config.headDimension
        let width = format == .half ? 2 : 1
        return CacheSlot(format: format, keys: keyCache + row * length * width, values: valueCache + row * length * width,
                         keyScales: keyScales + row * blocksPerRow, valueScales: valueScales + row * blocksPerRow,
                         rows: rowsPerHead, length: length)
    }

    deinit {
        LargeAllocation.free(keyCache)
        LargeAllocation.free(valueCache)
        keyScales.deallocate()
        valueScales.deallocate()
        logits.deallocate()
    }
}

/// One layer's and KV head's stretch of a sequence's cache, as raw memory: a forward pass gathers
/// its units' slots before sharing them out, so the threads touch no state object per unit
/// (retaining and releasing one per unit was a visible share of a step).
struct CacheSlot {
    let format: LlamaState.Format
    let keys: UnsafeMutableRawPointer
    let values: UnsafeMutableRawPointer
    /// The scales of each position's keys and values, per 32 (`.bytes` only).
    let keyScales: UnsafeMutablePointer<UInt16>
    let valueScales: UnsafeMutablePointer<UInt16>
    /// Positions the slot has room for.
    let rows: Int
    /// Values per key and per value: the head dimension.
    let length: Int

    /// Writes the key and value (`length` floats each) at `position`.
    func store(position: Int, key: UnsafePointer<Float>, value: UnsafePointer<Float>) {
        switch format {
        case .half:
            llmk_to_half(key, keys.assumingMemoryBound(to: UInt16.self) + position * length, Int32(length))
            llmk_to_half(value, values.assumingMemoryBound(to: UInt16.self) + position * length, Int32(length))
        case .bytes:
            llmk_store_kv8(key, value, Int32(length), Int32(position), Int32(rows), keys.assumingMemoryBound(to: UInt8.self),
                           keyScales, values.assumingMemoryBound(to: Int8.self), valueScales)
        }
    }

    /// Positions `positions` in half precision (`.half` only): from the first position, those
    /// before the range skipped (masked, as llama.cpp masks them, so sums keep their order).
    func halfView(_ positions: Range<Int>) -> llmk_cache_view {
        llmk_cache_view(keys: keys.assumingMemoryBound(to: UInt16.self), values: values.assumingMemoryBound(to: UInt16.self),
                        count: Int32(positions.upperBound), skip: Int32(positions.lowerBound))
    }

    /// Positions `positions` in bytes (`.bytes` only): the view starts at the multiple of 32 at or
    /// before the first (keys lie in eights and values in fours, and a block's scales stay whole),
    /// the positions before it skipped.
    func byteView(_ positions: Range<Int>) -> llmk_kv8_view {
        let start = positions.lowerBound / 32 * 32
        return llmk_kv8_view(
            keys: keys.assumingMemoryBound(to: UInt8.self) + start * length, key_scales: keyScales + start,
            values: values.assumingMemoryBound(to: Int8.self) + start * length, value_scales: valueScales + start,
            count: Int32(positions.upperBound - start), rows: Int32(rows), skip: Int32(positions.lowerBound - start))
    }
}
