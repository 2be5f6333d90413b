import HeapModule

/// SentencePiece's BPE as llama.cpp runs it: start from single characters, repeatedly join the
/// adjacent pair whose joined text is the vocabulary's highest-scoring token (leftmost on ties),
/// then spell every character the vocabulary lacks as byte tokens (`<0x41>`).
enum SentencePieceMerger {
    private struct Symbol {
        var start: Int
        var length: Int
        var previous: Int
        var next: Int
    }

    private struct Pair: Comparable {
        var score: Float
        var left: Int
        var right: Int
        var length: Int

        /// The greater pair is merged first: higher score, then the one further left.
        static func < (a: Pair, b: Pair) -> Bool {
            a.score < b.score || (a.score == b.score && a.left > b.left)
        }
    }

    static func encode(_ text: String, ids: [String: Int32], scores: [Float], into output: inout [Int32]) {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty else { return }
        var symbols: [Symbol] = []
        var offset = 0
        for scalar in text.unicodeScalars {
            let length = String(scalar).utf8.count
            symbols.append(Symbol(start: offset, length: length, previous: symbols.count - 1, next: symbols.count + 1))
            offset += length
        }
        symbols[symbols.count - 1].next = -1

        func piece(_ start: Int, _ length: Int) -> String {
            String(decoding: bytes[start..<start + length], as: UTF8.self)
        }
        var queue = Heap<Pair>()
        func consider(_ left: Int, _ right: Int) {
            guard left >= 0, right >= 0 else { return }
            let length = symbols[left].length + symbols[right].length
            guard let id = ids[piece(symbols[left].start, length)], Int(id) < scores.count else { return }
            queue.insert(Pair(score: scores[Int(id)], left: left, right: right, length: length))
        }
        for index in 1..<symbols.count { consider(index - 1, index) }

        while let pair = queue.popMax() {
            let left = symbols[pair.left], right = symbols[pair.right]
            // Stale: one side was merged into something else since this pair was queued.
            guard left.length > 0, right.length > 0, left.length + right.length == pair.length else { continue }
            symbols[pair.left].length += right.length
            symbols[pair.right].length = 0
            symbols[pair.left].next = right.next
            if right.next >= 0 { symbols[right.next].previous = pair.left }
            consider(symbols[pair.left].previous, pair.left)
            consider(pair.left, symbols[pair.left].next)
        }

        var index = 0
        while index != -1 {
            let symbol = symbols[index]
            if let id = ids[piece(symbol.start, symbol.length)] {
                output.append(id)
            } else {
                for byte in bytes[symbol.start..<symbol.start + symbol.length] {
                    let name = "<0x" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2) + ">"
                    if let id = ids[name] { output.append(id) } else if let unknown = ids["<unk>"] { output.append(unknown) }
                }
            }
            index = symbol.next
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
