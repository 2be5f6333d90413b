import Foundation
import Testing
@testable import LLMEngine

/// A plain-text prompt (the completions API's) read as llama.cpp reads it: BOS where the vocabulary
/// adds one (SentencePiece by default, SmolLM2's byte-level vocabulary not), special tokens written
/// in the text recognised. Reference/completion-prompt-reference.json is llama.cpp's own reading
/// (scripts/reference/completion_prompt_reference.py).
struct CompletionPromptReferenceTests {
    struct Prompt: Decodable { let text: String; let ids: [Int32] }
    struct File: Decodable { let file: String; let adds_bos: Bool; let prompts: [Prompt] }
    struct Reference: Decodable { let files: [File] }

    static let reference: Reference = {
        let url = Bundle.module.url(forResource: "completion-prompt-reference", withExtension: "json", subdirectory: "Reference")!
        return try! JSONDecoder().decode(Reference.self, from: Data(contentsOf: url))
    }()

    static func tokenizer(_ file: String) throws -> BPETokenizer {
        if file == "tiny-llama.gguf" {
            let url = Bundle.module.url(forResource: "tiny-llama", withExtension: "gguf", subdirectory: "Reference")!
            return try BPETokenizer(file: GGUFFile(path: url.path))
        }
        return try BPETokenizer(file: GGUFReferenceTests.open())
    }

    @Test(arguments: reference.files.map(\.file))
    func promptsAreReadAsLlamaCppReadsThem(_ file: String) throws {
        let expected = try #require(Self.reference.files.first { $0.file == file })
        let tokenizer = try Self.tokenizer(file)
        #expect(tokenizer.addsBOS == expected.adds_bos)
        for prompt in expected.prompts {
            #expect(tokenizer.promptTokens(prompt.text, limit: 1000) == prompt.ids, "\(prompt.text.debugDescription)")
            #expect(tokenizer.promptTokens(prompt.text, limit: prompt.ids.count - 1) == nil)
        }
    }
}
