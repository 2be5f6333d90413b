/// AUTOMATIC1111's emphasis syntax, so prompts written for it mean the same here: `(text)` weighs
/// its text by 1.1, `[text]` by 1/1.1, `(text:1.3)` by 1.3; brackets nest and multiply; an
/// unclosed bracket applies to the rest; `\(`, `\)`, `\[`, `\]`, `\\` are the characters
/// themselves; a `:` not followed by a number and `)` is text; `BREAK` (a word of its own) starts
/// a new 75-token chunk. Neighbouring pieces of equal weight are merged.
public enum PromptWeights {
    public struct Piece: Equatable, Sendable {
        public var text: String
        public var weight: Double
        /// A `BREAK`: no text, the next piece starts a new chunk.
        public var isBreak: Bool

        public init(_ text: String, _ weight: Double, isBreak: Bool = false) {
            self.text = text
            self.weight = weight
            self.isBreak = isBreak
        }
    }

    public static func parse(_ prompt: String) -> [Piece] {
        var pieces: [Piece] = []
        var round: [Int] = [], square: [Int] = []
        func multiply(from start: Int, by factor: Double) {
            for i in start..<pieces.count { pieces[i].weight *= factor }
        }
        func appendText(_ text: String) {
            for (index, part) in splitOnBreak(text).enumerated() {
                if index > 0 { pieces.append(Piece("", -1, isBreak: true)) }
                pieces.append(Piece(part, 1))
            }
        }
        let characters = Array(prompt)
        var i = 0
        var plain = ""
        func flushPlain() {
            if !plain.isEmpty { appendText(plain) }
            plain = ""
        }
        while i < characters.count {
            let c = characters[i]
            switch c {
            case "\\":
                flushPlain()
                if i + 1 < characters.count, "()[]\\".contains(characters[i + 1]) {
                    pieces.append(Piece(String(characters[i + 1]), 1))
                    i += 2
                } else {
                    pieces.append(Piece("", 1))  // a lone backslash is dropped
                    i += 1
                }
                continue
            case "(":
                flushPlain()
                round.append(pieces.count)
            case "[":
                flushPlain()
                square.append(pieces.count)
            case ":":
                // `:number)` closes the innermost round bracket with that weight.
                if let (weight, end) = explicitWeight(characters, from: i + 1) {
                    flushPlain()
                    if let start = round.popLast() {
                        multiply(from: start, by: weight)
                    } else {
                        pieces.append(Piece(String(characters[i..<end]), 1))
                    }
                    i = end
                    continue
                }
                flushPlain()
                pieces.append(Piece(":", 1))
            case ")":
                flushPlain()
                if let start = round.popLast() { multiply(from: start, by: 1.1) } else { pieces.append(Piece(")", 1)) }
            case "]":
                flushPlain()
                if let start = square.popLast() { multiply(from: start, by: 1 / 1.1) } else { pieces.append(Piece("]", 1)) }
            default:
                plain.append(c)
            }
            i += 1
        }
        flushPlain()
        for start in round { multiply(from: start, by: 1.1) }
        for start in square { multiply(from: start, by: 1 / 1.1) }
        if pieces.isEmpty { pieces = [Piece("", 1)] }
        var merged: [Piece] = []
        for piece in pieces {
            if let last = merged.last, !last.isBreak, !piece.isBreak, last.weight == piece.weight {
                merged[merged.count - 1].text += piece.text
            } else {
                merged.append(piece)
            }
        }
        return merged
    }

    /// `[+-]?[.0-9]+` then `)`, from `start`: the weight and the index after the `)`.
    private static func explicitWeight(_ characters: [Character], from start: Int) -> (Double, Int)? {
        var end = start
        if end < characters.count, characters[end] == "+" || characters[end] == "-" { end += 1 }
        let digitsStart = end
        while end < characters.count, characters[end] == "." || characters[end].isASCII && characters[end].isNumber { end += 1 }
        guard end > digitsStart, end < characters.count, characters[end] == ")",
            let weight = Double(String(characters[start..<end]))
        else { return nil }
        return (weight, end + 1)
    }

    /// Splits on the word `BREAK`, swallowing the whitespace around it.
    private static func splitOnBreak(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        let characters = Array(text)
        var i = 0
        while i < characters.count {
            if characters[i...].starts(with: "BREAK"),
                i == 0 || !isWordCharacter(characters[i - 1]),
                i + 5 == characters.count || !isWordCharacter(characters[i + 5])
            {
                while let last = current.last, last.isWhitespace { current.removeLast() }
                parts.append(current)
                current = ""
                i += 5
                while i < characters.count, characters[i].isWhitespace { i += 1 }
                continue
            }
            current.append(characters[i])
            i += 1
        }
        parts.append(current)
        return parts
    }

    private static func isWordCharacter(_ c: Character) -> Bool { c.isLetter || c.isNumber || c == "_" }
}
