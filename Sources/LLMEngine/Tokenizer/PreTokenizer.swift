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
        /// Llama 3's pattern (`llama-bpe`): numbers in threes, a letter run may take one leading
        /// symbol, newlines kept with the whitespace before them.
        case llama3
        /// Qwen2's: Llama 3's with every digit alone.
        case qwen2
    }

    public let kind: Kind

    public init(name: String?) {
        switch name {
        case "smollm": kind = .smollm
        case "llama3", "llama-v3", "llama-bpe", "falcon3": kind = .llama3
        case "qwen2", "deepseek-r1-qwen", "stablelm2": kind = .qwen2
        default: kind = .gpt2
        }
    }

    /// Whether a whole piece that is itself a token skips the merges (llama.cpp's `ignore_merges`).
    public var usesWholePieces: Bool { kind == .llama3 }

    public func split(_ text: String) -> [Substring.UnicodeScalarView] {
        let scalars = Substring(text).unicodeScalars
        switch kind {
        case .gpt2:
            return Self.gpt2(scalars)
        case .smollm:
            return Self.isolatingDigits(scalars).flatMap { piece in
                piece.count == 1 && piece.first!.isNumber ? [piece] : Self.gpt2(piece)
            }
        case .llama3:
            return Self.llama3(scalars, digitsPerPiece: 3)
        case .qwen2:
            return Self.llama3(scalars, digitsPerPiece: 1)
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

extension PreTokenizer {
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`,
    /// the alternatives tried in order at each position as the regex engine does.
    static func llama3(_ scalars: Substring.UnicodeScalarView, digitsPerPiece: Int) -> [Substring.UnicodeScalarView] {
        let text = Array(scalars)
        var indices: [Substring.UnicodeScalarView.Index] = []
        indices.reserveCapacity(text.count + 1)
        var position = scalars.startIndex
        while position != scalars.endIndex {
            indices.append(position)
            position = scalars.index(after: position)
        }
        indices.append(scalars.endIndex)

        var pieces: [Substring.UnicodeScalarView] = []
        var start = 0
        while start < text.count {
            let end = llama3Match(text, at: start, digitsPerPiece: digitsPerPiece)
            pieces.append(scalars[indices[start]..<indices[end]])
            start = end
        }
        return pieces
    }

    private static func isNewline(_ scalar: Unicode.Scalar) -> Bool { scalar == "\r" || scalar == "\n" }

    private static func llama3Match(_ text: [Unicode.Scalar], at start: Int, digitsPerPiece: Int) -> Int {
        func run(_ from: Int, _ predicate: (Unicode.Scalar) -> Bool) -> Int {
            var end = from
            while end < text.count && predicate(text[end]) { end += 1 }
            return end
        }
        let scalar = text[start]
        // 's 't 're 've 'm 'll 'd, any case
        if scalar == "'" && start + 1 < text.count {
            let rest = text[(start + 1)...].prefix(2).map { String($0).lowercased() }.joined()
            for contraction in ["re", "ve", "ll"] where rest.hasPrefix(contraction) { return start + 3 }
            if let first = rest.first, "stmd".contains(first) { return start + 2 }
        }
        // [^\r\n\p{L}\p{N}]?\p{L}+
        if scalar.isLetter { return run(start, \.isLetter) }
        if !isNewline(scalar) && !scalar.isNumber && start + 1 < text.count && text[start + 1].isLetter {
            return run(start + 1, \.isLetter)
        }
        // \p{N}{1,digitsPerPiece}
        if scalar.isNumber { return min(run(start, \.isNumber), start + digitsPerPiece) }
        // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
        let symbolStart = scalar == " " ? start + 1 : start
        if symbolStart < text.count, !text[symbolStart].isWhitespace, !text[symbolStart].isLetter, !text[symbolStart].isNumber {
            let symbolsEnd = run(symbolStart) { !$0.isWhitespace && !$0.isLetter && !$0.isNumber }
            return run(symbolsEnd, isNewline)
        }
        // \s*[\r\n]+ : the whitespace run up to and including its last newline.
        let whitespaceEnd = run(start, \.isWhitespace)
        if let lastNewline = (start..<whitespaceEnd).last(where: { isNewline(text[$0]) }) {
            return lastNewline + 1
        }
        // \s+(?!\S) then \s+
        if whitespaceEnd == text.count || whitespaceEnd - start == 1 { return whitespaceEnd }
        return whitespaceEnd - 1
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
