import HeapModule

/// Byte-level BPE's merges, run as llama.cpp and Hugging Face's `tokenizers` run them: a piece
/// starts as one symbol per byte, and the adjacent pair with the lowest merge rank (leftmost on
/// ties) is joined until no listed merge applies. Symbols are token ids in a linked list and the
/// candidate pairs wait in a min-heap, so a piece of n bytes costs O(n log n) — a 1 MB word
/// included — where rescanning every pair after each merge cost O(n²).
/// CLIP's BPE marks a word's end instead of its start: with `endOfWordSuffix`, a piece's last byte
/// starts as its own symbol with the suffix (`a</w>`), as Hugging Face's `end_of_word_suffix` does.
public struct ByteLevelMerger: Sendable {
    private struct Merge {
        var rank: Int32
        var result: Int32
    }

    /// `left << 32 | right` → the merge that joins them.
    private let merges: [UInt64: Merge]
    /// The symbol each byte starts as, and as a piece's last byte.
    private let byteSymbols: [Int32]
    private let finalByteSymbols: [Int32]
    /// Symbols at or past the vocabulary's size are joins the vocabulary lacks (a broken file):
    /// they are written out as byte tokens, as llama.cpp does.
    private let vocabularySize: Int
    private let extraSymbolBytes: [[UInt8]]
    /// The vocabulary's token for each byte, if it has one.
    private let byteTokens: [Int32?]

    public init(tokens: [String], ids: [String: Int32], merges rules: [String], endOfWordSuffix: String = "") {
        vocabularySize = tokens.count
        var extra: [String: Int32] = [:]
        var extraBytes: [[UInt8]] = []
        func symbol(_ text: String) -> Int32 {
            if let id = ids[text] ?? extra[text] { return id }
            let id = Int32(tokens.count + extraBytes.count)
            extra[text] = id
            extraBytes.append(ByteLevelAlphabet.decode(text) ?? Array(text.utf8))
            return id
        }
        let byteTokens = ByteLevelAlphabet.characterForByte.map { ids[String($0)] }
        self.byteTokens = byteTokens
        byteSymbols = ByteLevelAlphabet.characterForByte.map { symbol(String($0)) }
        finalByteSymbols = ByteLevelAlphabet.characterForByte.map { symbol(String($0) + endOfWordSuffix) }
        var table: [UInt64: Merge] = [:]
        table.reserveCapacity(rules.count)
        for (rank, rule) in rules.enumerated() {
            guard let space = rule.firstIndex(of: " ") else { continue }
            let left = String(rule[..<space]), right = String(rule[rule.index(after: space)...])
            let key = Self.key(symbol(left), symbol(right))
            if table[key] == nil { table[key] = Merge(rank: Int32(rank), result: symbol(left + right)) }
        }
        merges = table
        extraSymbolBytes = extraBytes
    }

    private static func key(_ left: Int32, _ right: Int32) -> UInt64 {
        UInt64(UInt32(bitPattern: left)) << 32 | UInt64(UInt32(bitPattern: right))
    }

    /// A pair of neighbours that a merge could join, as it was when queued.
    fileprivate struct Pair: Comparable {
        var rank: Int32
        var left: Int32
        var right: Int32
        var leftSymbol: Int32
        var rightSymbol: Int32

        static func < (a: Pair, b: Pair) -> Bool { a.rank < b.rank || (a.rank == b.rank && a.left < b.left) }
        static func == (a: Pair, b: Pair) -> Bool { a.rank == b.rank && a.left == b.left }
    }

    /// Buffers reused from piece to piece within one text.
    public struct Scratch {
        public init() {}
        fileprivate var symbols: [Int32] = []
        fileprivate var next: [Int32] = []
        fileprivate var previous: [Int32] = []
        fileprivate var queue = Heap<Pair>()
    }

    public func encode(_ bytes: UnsafeBufferPointer<UInt8>, scratch: inout Scratch, into output: inout [Int32]) {
        let count = bytes.count
        guard count > 0 else { return }
        if count == 1 {
            emit(finalByteSymbols[Int(bytes[0])], into: &output)
            return
        }
        scratch.symbols.removeAll(keepingCapacity: true)
        scratch.next.removeAll(keepingCapacity: true)
        scratch.previous.removeAll(keepingCapacity: true)
        for (index, byte) in bytes.enumerated() {
            scratch.symbols.append(index + 1 < count ? byteSymbols[Int(byte)] : finalByteSymbols[Int(byte)])
            scratch.next.append(index + 1 < count ? Int32(index + 1) : -1)
            scratch.previous.append(Int32(index - 1))
        }
        scratch.queue = Heap()
        for index in 0..<(count - 1) { consider(Int32(index), Int32(index + 1), &scratch) }

        while let pair = scratch.queue.popMin() {
            let left = Int(pair.left), right = Int(pair.right)
            // Stale: a side was joined into something else since the pair was queued (symbols
            // only ever grow, so a side whose symbol is unchanged is untouched).
            guard scratch.symbols[left] == pair.leftSymbol, scratch.symbols[right] == pair.rightSymbol,
                  scratch.next[left] == pair.right else { continue }
            scratch.symbols[left] = merges[Self.key(pair.leftSymbol, pair.rightSymbol)]!.result
            scratch.symbols[right] = -1
            let after = scratch.next[right]
            scratch.next[left] = after
            if after >= 0 { scratch.previous[Int(after)] = pair.left }
            let before = scratch.previous[left]
            if before >= 0 { consider(before, pair.left, &scratch) }
            if after >= 0 { consider(pair.left, after, &scratch) }
        }

        var index: Int32 = 0
        while index >= 0 {
            emit(scratch.symbols[Int(index)], into: &output)
            index = scratch.next[Int(index)]
        }
    }

    private func consider(_ left: Int32, _ right: Int32, _ scratch: inout Scratch) {
        let leftSymbol = scratch.symbols[Int(left)], rightSymbol = scratch.symbols[Int(right)]
        guard let merge = merges[Self.key(leftSymbol, rightSymbol)] else { return }
        scratch.queue.insert(Pair(rank: merge.rank, left: left, right: right, leftSymbol: leftSymbol,
                                  rightSymbol: rightSymbol))
    }

    private func emit(_ symbol: Int32, into output: inout [Int32]) {
        if Int(symbol) < vocabularySize {
            output.append(symbol)
            return
        }
        // Every single byte is in a byte-level vocabulary; reaching here means a broken file.
        for byte in extraSymbolBytes[Int(symbol) - vocabularySize] {
            if let token = byteTokens[Int(byte)] { output.append(token) }
        }
    }
}
