/// Splits text into the pieces BPE merges never cross, as llama.cpp does for each `tokenizer.ggml.pre`.
///
/// Written as a scanner rather than with `Regex`: the patterns are GPT-2's
/// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+` and variants, and a
/// scanner makes their one look-ahead explicit and costs nothing per token.
public struct PreTokenizer: Sendable {
    public enum Kind: String, Sendable {
        /// GPT-2's pattern (`gpt2`, also the fallback).
        case gpt2
        /// Every digit alone first, then GPT-2's pattern (`smollm`, as SmolLM's tokenizer.json says).
        case smollm
    }

    public let kind: Kind

    public init(name: String?) {
        kind = name == "smollm" ? .smollm : .gpt2
    }

    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Substring(text).unicodeScalars
        switch kind {
        case .gpt2:
            return Self.gpt2(scalars)
        case .smollm:
            return Self.isolatingDigits(scalars).flatMap { piece in
                piece.count == 1 && piece.first!.isNumber ? [piece] : Self.gpt2(piece)
            }
        }
    }

    /// Each number character becomes a piece of its own; the runs between them stay whole.
    static func isolatingDigits(_ scalars: Substring.UnicodeScalarView) -> [Substring.UnicodeScalarView] {
        var pieces: [Substring.UnicodeScalarView] = []
        var start = scalars.startIndex
        var index = scalars.startIndex
        while index != scalars.endIndex {
            let next = scalars.index(after: index)
            if scalars[index].isNumber {
                if start != index { pieces.append(scalars[start..<index]) }
                pieces.append(scalars[index..<next])
                start = next
            }
            index = next
        }
        if start != scalars.endIndex { pieces.append(scalars[start..<scalars.endIndex]) }
        return pieces
    }

    static let contractions: [[Unicode.Scalar]] = ["s", "t", "re", "ve", "m", "ll", "d"].map { Array($0.unicodeScalars) }

    static func gpt2(_ scalars: Substring.UnicodeScalarView) -> [Substring.UnicodeScalarView] {
        var pieces: [Substring.UnicodeScalarView] = []
        var index = scalars.startIndex
        let end = scalars.endIndex

        func advance(while predicate: (Unicode.Scalar) -> Bool, from start: Substring.UnicodeScalarView.Index)
            -> Substring.UnicodeScalarView.Index
        {
            var position = start
            while position != end && predicate(scalars[position]) { position = scalars.index(after: position) }
            return position
        }

        while index != end {
            let scalar = scalars[index]
            let next = scalars.index(after: index)
            // 's 't 're 've 'm 'll 'd
            if scalar == "'" {
                var matched: Substring.UnicodeScalarView.Index?
                for contraction in contractions {
                    var position = next
                    var ok = true
                    for expected in contraction {
                        guard position != end, scalars[position] == expected else { ok = false; break }
                        position = scalars.index(after: position)
                    }
                    if ok { matched = position; break }
                }
                if let matched {
                    pieces.append(scalars[index..<matched])
                    index = matched
                    continue
                }
            }
            // An optional space, then a run of one class.
            let classStart = scalar == " " && next != end && !scalars[next].isWhitespace ? next : index
            let first = scalars[classStart]
            let runEnd: Substring.UnicodeScalarView.Index
            if first.isLetter {
                runEnd = advance(while: \.isLetter, from: classStart)
            } else if first.isNumber {
                runEnd = advance(while: \.isNumber, from: classStart)
            } else if !first.isWhitespace {
                runEnd = advance(while: { !$0.isWhitespace && !$0.isLetter && !$0.isNumber }, from: classStart)
            } else {
                // Whitespace: all of it at the end of the text; otherwise all but the last one,
                // which goes with the word that follows (`\s+(?!\S)`), or the single one (`\s+`).
                let whitespaceEnd = advance(while: \.isWhitespace, from: index)
                if whitespaceEnd == end || scalars.distance(from: index, to: whitespaceEnd) == 1 {
                    runEnd = whitespaceEnd
                } else {
                    runEnd = scalars.index(before: whitespaceEnd)
                }
                pieces.append(scalars[index..<runEnd])
                index = runEnd
                continue
            }
            pieces.append(scalars[index..<runEnd])
            index = runEnd
        }
        return pieces
    }
}

extension Unicode.Scalar {
    /// `\p{L}`
    var isLetter: Bool {
        switch properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: true
        default: false
        }
    }

    /// `\p{N}`
    var isNumber: Bool {
        switch properties.generalCategory {
        case .decimalNumber, .letterNumber, .otherNumber: true
        default: false
        }
    }

    /// `\s`
    var isWhitespace: Bool { properties.isWhitespace }
}
