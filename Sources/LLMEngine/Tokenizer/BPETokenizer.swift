/// The BPE tokenizers of GGUF files. Byte-level BPE (`tokenizer.ggml.model` = `gpt2`), the
/// tokenizer of SmolLM2, Llama 3 and Qwen2: text is split by the pre-tokenizer, each piece is
/// spelled in the byte-level alphabet, and adjacent symbols are merged by rank until no listed
/// merge applies. SentencePiece BPE (`llama`), that of Llama 2, TinyLlama and Mistral: spaces
/// become `▁`, characters are merged by the score of what they make, and characters the
/// vocabulary lacks are spelled as byte tokens.
public final class BPETokenizer: Sendable {
    public typealias Token = Int32

    public let tokens: [String]
    /// ggml's token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte.
    public let tokenTypes: [Int32]
    public let bos: Token?
    public let eos: Token?
    /// Whether a prompt given as plain text starts with `bos` (the file's `add_bos_token`; when it
    /// does not say, llama.cpp's default: SentencePiece vocabularies do, byte-level ones do not).
    public let addsBOS: Bool
    public let preTokenizer: PreTokenizer
    public let encoding: Encoding
    private let ids: [String: Token]
    private let merger: ByteLevelMerger
    /// Control and user-defined tokens, matched whole in text when asked to.
    private let specialTokens: SpecialTokenMatcher
    /// The most bytes one token stands for: a text of n bytes has at least n / this many tokens.
    private let longestTokenBytes: Int

    /// The file's tokenizer; `preTokenizer` overrides the pre-tokenizer it names.
    public enum Encoding: Sendable, Equatable {
        case byteLevel
        /// Scores rank the merges; `addSpacePrefix` puts a space before text that starts a
        /// fragment (the text's start, or just after a special token).
        case sentencePiece(scores: [Float], addSpacePrefix: Bool)
    }

    public convenience init(file: GGUFFile, preTokenizer: String? = nil) throws(GGUFError) {
        guard let model = file.metadata["tokenizer.ggml.model"]?.stringValue else {
            throw GGUFError.missingMetadata(path: file.path, key: "tokenizer.ggml.model")
        }
        guard let tokens = file.metadata["tokenizer.ggml.tokens"]?.arrayValue?.compactMap(\.stringValue) else {
            throw GGUFError.missingMetadata(path: file.path, key: "tokenizer.ggml.tokens")
        }
        let encoding: Encoding
        var merges: [String] = []
        switch model {
        case "gpt2":
            guard let listed = file.metadata["tokenizer.ggml.merges"]?.arrayValue?.compactMap(\.stringValue) else {
                throw GGUFError.missingMetadata(path: file.path, key: "tokenizer.ggml.merges")
            }
            merges = listed
            encoding = .byteLevel
        case "llama":
            guard let scores = file.metadata["tokenizer.ggml.scores"]?.arrayValue?.compactMap(\.doubleValue),
                  scores.count == tokens.count else {
                throw GGUFError.missingMetadata(path: file.path, key: "tokenizer.ggml.scores")
            }
            let prefix = file.metadata["tokenizer.ggml.add_space_prefix"].map { $0.boolValue ?? true } ?? true
            encoding = .sentencePiece(scores: scores.map(Float.init), addSpacePrefix: prefix)
        default:
            throw GGUFError.malformed(path: file.path, reason: "tokenizer '\(model)' is not supported (supported: gpt2, llama)")
        }
        let types = file.metadata["tokenizer.ggml.token_type"]?.arrayValue?.compactMap { $0.intValue.map(Int32.init) }
        self.init(
            tokens: tokens, tokenTypes: types ?? Array(repeating: 1, count: tokens.count), merges: merges,
            bos: file.metadata["tokenizer.ggml.bos_token_id"]?.intValue.map(Token.init),
            eos: file.metadata["tokenizer.ggml.eos_token_id"]?.intValue.map(Token.init),
            preTokenizer: PreTokenizer(name: preTokenizer ?? file.metadata["tokenizer.ggml.pre"]?.stringValue),
            encoding: encoding,
            addsBOS: file.metadata["tokenizer.ggml.add_bos_token"]?.boolValue ?? (model == "llama"))
    }

    public init(tokens: [String], tokenTypes: [Int32], merges: [String], bos: Token?, eos: Token?, preTokenizer: PreTokenizer,
                encoding: Encoding = .byteLevel, addsBOS: Bool = false) {
        self.tokens = tokens
        self.addsBOS = addsBOS
        self.encoding = encoding
        self.tokenTypes = tokenTypes
        self.bos = bos
        self.eos = eos
        self.preTokenizer = preTokenizer
        var ids: [String: Token] = [:]
        ids.reserveCapacity(tokens.count)
        for (id, token) in tokens.enumerated() where ids[token] == nil { ids[token] = Token(id) }
        self.ids = ids
        merger = ByteLevelMerger(tokens: tokens, ids: ids, merges: merges)
        specialTokens = SpecialTokenMatcher(tokens.enumerated()
            .filter { index, text in (tokenTypes[index] == 3 || tokenTypes[index] == 4) && !text.isEmpty }
            .map { (text: $0.element, id: Token($0.offset), isControl: tokenTypes[$0.offset] == 3) })
        // An entry's own UTF-8 is never shorter than the text it stands for: byte-level entries
        // spell each byte as a one- or two-byte character, SentencePiece's `▁` (three bytes) is a
        // space, `<0x41>` one byte.
        longestTokenBytes = max(1, tokens.map(\.utf8.count).max() ?? 1)
    }

    /// A plain-text prompt as llama.cpp reads one (its server's completions API): BOS when the
    /// vocabulary adds it, then the text with the special tokens written in it recognised. Nil as
    /// soon as it is known to need more than `limit` tokens.
    public func promptTokens(_ text: String, limit: Int) -> [Token]? {
        let start: [Token] = addsBOS ? bos.map { [$0] } ?? [] : []
        return encode(text, parseSpecial: true, limit: limit - start.count).map { start + $0 }
    }

    /// Token ids for `text`. With `parseSpecial`, control tokens written in the text (such as
    /// `<|im_start|>` from a chat template) become those tokens, except inside `literalUTF8Ranges` (byte
    /// offsets, the text a user wrote, in order); without, they are plain text. User-defined tokens
    /// become those tokens wherever they are written, as llama.cpp reads them.
    public func encode(_ text: String, parseSpecial: Bool = false, literalUTF8Ranges: [Range<Int>] = []) -> [Token] {
        encode(text, parseSpecial: parseSpecial, literalUTF8Ranges: literalUTF8Ranges, limit: .max)!
    }

    /// The same, giving up with nil as soon as the text is known to need more than `limit` tokens:
    /// a text whose length alone proves it is never split at all, so an oversized prompt costs
    /// next to nothing to refuse.
    public func encode(_ text: String, parseSpecial: Bool = false, literalUTF8Ranges: [Range<Int>] = [], limit: Int)
        -> [Token]?
    {
        var output: [Token] = []
        guard !text.isEmpty else { return output }
        guard fits(bytes: text.utf8.count, after: 0, limit: limit) else { return nil }
        var scratch = ByteLevelMerger.Scratch()
        var afterSpecial = true
        let segments = parseSpecial || specialTokens.hasUserDefined
            ? specialTokens.split(text, control: parseSpecial, literal: literalUTF8Ranges) : [.text(Substring(text))]
        for segment in segments {
            switch segment {
            case .special(let id):
                output.append(id)
                afterSpecial = true
            case .text(let text):
                switch encoding {
                case .byteLevel:
                    for piece in preTokenizer.split(String(text)) {
                        var piece = String(String.UnicodeScalarView(piece))
                        guard fits(bytes: piece.utf8.count, after: output.count, limit: limit) else { return nil }
                        if preTokenizer.usesWholePieces, let whole = ids[ByteLevelAlphabet.encode(piece.utf8)] {
                            output.append(whole)
                            continue
                        }
                        piece.withUTF8 { merger.encode($0, scratch: &scratch, into: &output) }
                    }
                case .sentencePiece(let scores, let addSpacePrefix):
                    let spaced = (addSpacePrefix && afterSpecial ? " " : "") + text
                    SentencePieceMerger.encode(spaced.replacingOccurrences(of: " ", with: "\u{2581}"), ids: ids,
                                               scores: scores, into: &output)
                }
                afterSpecial = false
                if output.count > limit { return nil }
            }
        }
        return output.count > limit ? nil : output
    }

    /// Whether `bytes` more of text, after `count` tokens, can still fit `limit`.
    private func fits(bytes: Int, after count: Int, limit: Int) -> Bool {
        limit == .max || count + (bytes + longestTokenBytes - 1) / longestTokenBytes <= limit
    }

    /// The bytes a token stands for. Control tokens stand for nothing in generated text.
    public func bytes(of token: Token) -> [UInt8] {
        guard token >= 0, Int(token) < tokens.count else { return [] }
        let text = tokens[Int(token)]
        switch (tokenTypes[Int(token)], encoding) {
        case (3, _): return []
        case (4, _): return Array(text.utf8)
        case (6, .sentencePiece):
            // <0xAB>
            return UInt8(text.dropFirst(3).dropLast(), radix: 16).map { [$0] } ?? []
        case (_, .sentencePiece): return Array(text.replacingOccurrences(of: "\u{2581}", with: " ").utf8)
        case (_, .byteLevel): return ByteLevelAlphabet.decode(text) ?? Array(text.utf8)
        }
    }

    public func decode(_ tokens: [Token]) -> String {
        String(decoding: tokens.flatMap(bytes(of:)), as: UTF8.self)
    }

    public func id(of token: String) -> Token? { ids[token] }
}
