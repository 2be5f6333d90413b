import Foundation
import Testing
@testable import LLMEngine

/// SmolLM2's tokenizer against llama.cpp's, whose token ids are in
/// Reference/tokenizer-reference.json (written by scripts/reference/llama_reference.py).
@Suite struct TokenizerReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        var text: String
        var special: Bool
        var ids: [Int32]
        var decoded: String?
        var description: String { String(text.prefix(30)).debugDescription }
    }

    static let cases: [Case] = {
        let url = Bundle.module.url(forResource: "tokenizer-reference", withExtension: "json", subdirectory: "Reference")!
        let json = try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        return (json["cases"] as! [[String: Any]]).map {
            Case(text: $0["text"] as! String, special: $0["special"] as! Bool,
                 ids: ($0["ids"] as! [Int]).map(Int32.init), decoded: $0["decoded"] as? String)
        }
    }()

    static let tokenizer: BPETokenizer? = try? BPETokenizer(file: GGUFReferenceTests.open())

    @Test(arguments: cases)
    func tokenIdsMatchLlamaCpp(_ reference: Case) throws {
        let tokenizer = try #require(Self.tokenizer, "the default model is needed; `make test` fetches it")
        #expect(tokenizer.encode(reference.text, parseSpecial: reference.special) == reference.ids)
        if let decoded = reference.decoded {
            #expect(tokenizer.decode(reference.ids) == decoded)
            #expect(decoded == reference.text, "byte-level BPE round-trips exactly")
        }
    }

    @Test(arguments: cases.filter { $0.ids.count > 1 })
    func aLimitGivesTheIdsOrNothing(_ reference: Case) throws {
        let tokenizer = try #require(Self.tokenizer)
        let count = reference.ids.count
        #expect(tokenizer.encode(reference.text, parseSpecial: reference.special, limit: count) == reference.ids)
        #expect(tokenizer.encode(reference.text, parseSpecial: reference.special, limit: count - 1) == nil)
    }

    @Test func aTextTooLongForALimitIsRefusedByItsLengthAlone() throws {
        let tokenizer = try #require(Self.tokenizer)
        // 64 MB of one word would take seconds to merge; its length alone rules it out.
        let word = String(repeating: "a", count: 64 << 20)
        #expect(tokenizer.encode(word, limit: 2047) == nil)
        let words = String(repeating: "many short words ", count: 4 << 20)
        #expect(tokenizer.encode(words, limit: 2047) == nil)
    }

    @Test func controlTokensAreTextUnlessAskedFor() throws {
        let tokenizer = try #require(Self.tokenizer)
        let start = try #require(tokenizer.id(of: "<|im_start|>"))
        #expect(tokenizer.encode("<|im_start|>user", parseSpecial: true).first == start)
        #expect(!tokenizer.encode("<|im_start|>user").contains(start))
        #expect(tokenizer.decode([start]) == "", "control tokens are not generated text")
    }

    @Test func streamedBytesNeverShowHalfACharacter() {
        var decoder = UTF8StreamDecoder()
        let fox = Array("🦊".utf8)  // four bytes
        #expect(decoder.append([UInt8(ascii: "a")] + fox.prefix(1)) == "a")
        #expect(decoder.append(Array(fox[1..<3])) == "")
        #expect(decoder.append(Array(fox[3...]) + Array("é".utf8).prefix(1)) == "🦊")
        #expect(decoder.append(Array(Array("é".utf8)[1...])) == "é")
        #expect(decoder.append([0xFF]) == "\u{FFFD}", "an invalid byte is shown, not held forever")
        #expect(decoder.append([0xE4, 0xB8]) == "")
        #expect(decoder.finish() == "", "half a character at the end is dropped, never shown as U+FFFD")
    }

    /// An answer that `max_tokens` ends after the first two of 🍓's four bytes ends before it.
    @Test func anAnswerCutInsideACharacterEndsBeforeIt() throws {
        let tokenizer = try #require(Self.tokenizer)
        let bytes = Array("🍓".utf8).map { byte in
            tokenizer.id(of: String(ByteLevelAlphabet.characterForByte[Int(byte)]))!
        }
        let red = tokenizer.encode(" red")
        var completion = Completion(
            GenerationRequest(promptTokens: [1], maxTokens: red.count + 2, sampling: .init()), tokenizer: tokenizer)
        var text = ""
        for token in red + bytes.prefix(2) {
            let (piece, next) = completion.take(token, roomLeft: true)
            text += piece
            if next == nil { break }
        }
        #expect(completion.result.finishReason == .length)
        #expect(text == " red", "no U+FFFD for the half-sent strawberry")
    }
}
