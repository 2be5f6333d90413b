import Foundation
import LLMEngine

/// CLIP's byte-level BPE, as Hugging Face's `CLIPTokenizer` runs it: the text NFC-normalized, runs of
/// whitespace made one space, lowercased; split into contractions, runs of letters, single digits
/// and runs of other symbols; each piece's bytes merged with an end-of-word mark on its last one.
/// The vocabulary is built from the merges list alone (open_clip's `bpe_simple_vocab_16e6`):
/// 256 byte symbols, the same with `</w>`, one token per merge, then the two specials.
public struct CLIPTokenizer: Sendable {
    public static let startOfText: Int32 = 49406
    public static let endOfText: Int32 = 49407
    /// Tokens in one encoder pass, the two marks included.
    public static let contextLength = 77
    static let mergeCount = 49152 - 256 - 2

    private let merger: ByteLevelMerger
    /// `,</w>`, where AUTOMATIC1111 prefers to end a full chunk.
    public let commaToken: Int32

    public init(mergesFile path: String) throws(DiffusionError) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw .cannotOpen(path: path, reason: "cannot read the CLIP vocabulary")
        }
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).dropFirst().prefix(Self.mergeCount)
        guard lines.count == Self.mergeCount else {
            throw .malformed(path: path, reason: "the CLIP merges list has \(lines.count) merges, not \(Self.mergeCount)")
        }
        let merges = lines.map(String.init)
        // The byte symbols in open_clip's order: printable bytes first, then the rest.
        let printable = Array(33...126) + Array(161...172) + Array(174...255)
        let order = printable + (0..<256).filter { !printable.contains($0) }
        let symbols = order.map { String(ByteLevelAlphabet.characterForByte[$0]) }
        var tokens = symbols + symbols.map { $0 + "</w>" }
        tokens += merges.map { $0.replacingOccurrences(of: " ", with: "") }
        tokens += ["<|startoftext|>", "<|endoftext|>"]
        var ids: [String: Int32] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where ids[token] == nil { ids[token] = Int32(id) }
        merger = ByteLevelMerger(tokens: tokens, ids: ids, merges: merges, endOfWordSuffix: "</w>")
        commaToken = ids[",</w>"] ?? -1
    }

    /// The text's tokens, without the start and end marks.
    public func encode(_ text: String) -> [Int32] {
        var output: [Int32] = []
        var scratch = ByteLevelMerger.Scratch()
        for piece in Self.pieces(of: Self.normalize(text)) {
            var bytes = Array(piece.utf8)
            bytes.withUnsafeMutableBufferPointer { merger.encode(UnsafeBufferPointer($0), scratch: &scratch, into: &output) }
        }
        return output
    }

    static func normalize(_ text: String) -> String {
        var out = String.UnicodeScalarView()
        var lastWasSpace = false
        for scalar in text.precomposedStringWithCanonicalMapping.unicodeScalars {
            if scalar.properties.isWhitespace {
                if !lastWasSpace { out.append(" ") }
                lastWasSpace = true
            } else {
                out.append(scalar)
                lastWasSpace = false
            }
        }
        return String(out).lowercased()
    }

    private enum Kind { case letter, number, space, other }

    private static func kind(_ scalar: Unicode.Scalar) -> Kind {
        if scalar.properties.isWhitespace { return .space }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter: return .letter
        case .decimalNumber, .letterNumber, .otherNumber: return .number
        default: return .other
        }
    }

    /// The pre-tokenizer's pieces: `'s|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|[^\s\p{L}\p{N}]+`, spaces
    /// dropped.
    static func pieces(of text: String) -> [String] {
        let scalars = Array(text.unicodeScalars)
        var pieces: [String] = []
        var index = 0
        func piece(_ range: Range<Int>) -> String {
            var view = String.UnicodeScalarView()
            view.append(contentsOf: scalars[range])
            return String(view)
        }
        while index < scalars.count {
            if scalars[index] == "'", let length = contraction(at: index + 1, in: scalars) {
                pieces.append(piece(index..<index + 1 + length))
                index += 1 + length
                continue
            }
            let kind = kind(scalars[index])
            var end = index + 1
            switch kind {
            case .space:
                index = end
                continue
            case .number:
                break
            case .letter, .other:
                while end < scalars.count && Self.kind(scalars[end]) == kind { end += 1 }
            }
            pieces.append(piece(index..<end))
            index = end
        }
        return pieces
    }

    private static func contraction(at index: Int, in scalars: [Unicode.Scalar]) -> Int? {
        func next(_ offset: Int) -> Unicode.Scalar? { index + offset < scalars.count ? scalars[index + offset] : nil }
        switch (next(0), next(1)) {
        case ("r", "e"), ("v", "e"), ("l", "l"): return 2
        default: break
        }
        switch next(0) {
        case "s", "t", "m", "d": return 1
        default: return nil
        }
    }
}
