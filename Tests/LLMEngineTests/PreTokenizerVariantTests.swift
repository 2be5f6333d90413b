import Foundation
import Testing
@testable import LLMEngine

/// The Llama 3 (`llama-bpe`) and Qwen2 (`qwen2`) pre-tokenizers and SentencePiece vocabularies
/// against llama.cpp's: the default model's vocabulary with the pre-tokenizer switched, and a
/// SentencePiece vocabulary made from it; token ids in Reference/tokenizer-variants-reference.json
/// (scripts/reference/tokenizer_variants_reference.py).
struct PreTokenizerVariantTests {
    struct Case: Sendable, CustomStringConvertible {
        var pre: String
        var text: String
        var special: Bool
        var ids: [Int32]
        var description: String { "\(pre): \(String(text.prefix(30)).debugDescription)" }
    }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "tokenizer-variants-reference", withExtension: "json", subdirectory: "Reference")!
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (json["variants"] as! [[String: Any]]).flatMap { variant in
            (variant["cases"] as! [[String: Any]]).map {
                Case(pre: variant["pre"] as! String, text: $0["text"] as! String, special: $0["special"] as? Bool ?? false,
                     ids: ($0["ids"] as! [Int]).map(Int32.init))
            }
        }
    }()

    static let sentencePiece: BPETokenizer = {
        let url = Bundle.module.url(forResource: "tokenizer-variants-reference", withExtension: "json", subdirectory: "Reference")!
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let variant = (json["variants"] as! [[String: Any]]).first { $0["pre"] as? String == "sentencepiece" }!
        let vocabulary = variant["vocabulary"] as! [String: Any]
        return BPETokenizer(
            tokens: vocabulary["tokens"] as! [String], tokenTypes: (vocabulary["types"] as! [Int]).map(Int32.init), merges: [],
            bos: 1, eos: 2, preTokenizer: PreTokenizer(name: nil),
            encoding: .sentencePiece(scores: (vocabulary["scores"] as! [Double]).map(Float.init), addSpacePrefix: true))
    }()

    static let tokenizers: [String: BPETokenizer] = {
        guard let file = try? GGUFReferenceTests.open() else { return [:] }
        return ["llama-bpe": try! BPETokenizer(file: file, preTokenizer: "llama-bpe"),
                "qwen2": try! BPETokenizer(file: file, preTokenizer: "qwen2"), "sentencepiece": sentencePiece]
    }()

    @Test(arguments: cases)
    func tokenIdsMatchLlamaCpp(_ reference: Case) throws {
        let tokenizer = try #require(Self.tokenizers[reference.pre], "the default model is needed; `make test` fetches it")
        #expect(tokenizer.encode(reference.text, parseSpecial: reference.special) == reference.ids)
        if reference.pre == "sentencepiece" && !reference.special && !reference.text.isEmpty {
            #expect(tokenizer.decode(reference.ids) == " " + reference.text, "bytes round-trip, with the added space")
        }
    }

    @Test func thePiecesFollowEachPattern() {
        let llama3 = PreTokenizer(name: "llama-bpe"), qwen2 = PreTokenizer(name: "qwen2")
        func pieces(_ pre: PreTokenizer, _ text: String) -> [String] { pre.split(text).map { String(String.UnicodeScalarView($0)) } }
        #expect(pieces(llama3, "(ok) 12345 IT'S\n\n  x") == ["(ok", ")", " ", "123", "45", " IT", "'S", "\n\n", " ", " x"])
        #expect(pieces(qwen2, "12345") == ["1", "2", "3", "4", "5"])
    }
}
