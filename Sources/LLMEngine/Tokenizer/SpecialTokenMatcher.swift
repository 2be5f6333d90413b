/// Finds control and user-defined tokens (`<|im_start|>`) written in a text, longest first at each
/// position, in one pass over its bytes: only positions whose byte starts some special token are
/// compared, so a megabyte of user text costs a table look-up a byte. User-defined tokens are
/// found everywhere, as llama.cpp finds them (Gemma's runs of spaces and newlines are such tokens);
/// control tokens only where asked for.
struct SpecialTokenMatcher: Sendable {
    enum Segment {
        case text(Substring)
        case special(Int32)
    }

    private struct Candidate {
        var bytes: [UInt8]
        var id: Int32
        var isControl: Bool
    }

    /// For each first byte, the tokens that start with it, longest first.
    private let byFirstByte: [[Candidate]]
    /// Whether there is any user-defined token, found even where control tokens are not looked for.
    let hasUserDefined: Bool

    init(_ tokens: [(text: String, id: Int32, isControl: Bool)]) {
        var table = [[Candidate]](repeating: [], count: 256)
        for token in tokens {
            let bytes = Array(token.text.utf8)
            guard let first = bytes.first else { continue }
            table[Int(first)].append(Candidate(bytes: bytes, id: token.id, isControl: token.isControl))
        }
        byFirstByte = table.map { candidates in candidates.sorted { $0.bytes.count > $1.bytes.count } }
        hasUserDefined = tokens.contains { !$0.isControl }
    }

    /// `text` cut into plain text and special tokens. Control tokens are found only with `control`,
    /// and one that overlaps one of the `literal` byte ranges (sorted, the text a user wrote) stays
    /// plain text.
    func split(_ text: String, control: Bool = true, literal: [Range<Int>]) -> [Segment] {
        var text = text
        let literal = literal.filter { !$0.isEmpty }
        let matches = text.withUTF8 { bytes in find(in: bytes, control: control, literal: literal) }
        var segments: [Segment] = []
        let utf8 = text.utf8
        var plainStart = 0
        for match in matches {
            if plainStart < match.range.lowerBound {
                segments.append(.text(Self.substring(text, plainStart..<match.range.lowerBound)))
            }
            segments.append(.special(match.id))
            plainStart = match.range.upperBound
        }
        if plainStart < utf8.count { segments.append(.text(Self.substring(text, plainStart..<utf8.count))) }
        return segments
    }

    private func find(
        in bytes: UnsafeBufferPointer<UInt8>, control: Bool, literal: [Range<Int>]
    ) -> [(range: Range<Int>, id: Int32)] {
        var matches: [(range: Range<Int>, id: Int32)] = []
        var index = 0
        while index < bytes.count {
            let candidates = byFirstByte[Int(bytes[index])]
            var matched: (range: Range<Int>, id: Int32)?
            for candidate in candidates where index + candidate.bytes.count <= bytes.count {
                let range = index..<index + candidate.bytes.count
                guard candidate.bytes.indices.allSatisfy({ candidate.bytes[$0] == bytes[index + $0] }),
                      !candidate.isControl || (control && !Self.overlapsAny(range, literal)) else { continue }
                matched = (range, candidate.id)
                break
            }
            if let matched {
                matches.append(matched)
                index = matched.range.upperBound
            } else {
                index += 1
            }
        }
        return matches
    }

    /// Whether `range` overlaps one of the sorted, disjoint, non-empty `ranges` (binary search).
    static func overlapsAny(_ range: Range<Int>, _ ranges: [Range<Int>]) -> Bool {
        var low = 0, high = ranges.count
        // The first range that ends after `range` starts.
        while low < high {
            let middle = (low + high) / 2
            if ranges[middle].upperBound <= range.lowerBound { low = middle + 1 } else { high = middle }
        }
        return low < ranges.count && ranges[low].overlaps(range)
    }

    /// Byte offsets that fall between characters: special tokens are whole UTF-8.
    private static func substring(_ text: String, _ range: Range<Int>) -> Substring {
        let utf8 = text.utf8
        let start = utf8.index(utf8.startIndex, offsetBy: range.lowerBound)
        let end = utf8.index(start, offsetBy: range.count)
        return text[start..<end]
    }
}
