import LLMEngine

/// Turns a conversation into prompt tokens in the ChatML layout (`<|im_start|>role\ncontent<|im_end|>\n`),
/// the format of SmolLM2, Qwen2 and most small instruct models.
///
/// The markers are inserted as tokens and the messages are tokenized as plain text, so text a
/// user writes can never forge a turn: `<|im_start|>` typed in a message stays characters.
enum ChatMLPrompt {
    static func tokens(for messages: [ChatMessage], tokenizer: BPETokenizer) throws(BackendError) -> [Int32] {
        guard let start = tokenizer.id(of: "<|im_start|>"), let end = tokenizer.id(of: "<|im_end|>") else {
            throw BackendError(.failed, "The model has no ChatML markers; it needs its own chat template.")
        }
        var tokens: [Int32] = []
        for message in messages {
            tokens.append(start)
            tokens += tokenizer.encode("\(message.role)\n\(message.text)")
            tokens.append(end)
            tokens += tokenizer.encode("\n")
        }
        tokens.append(start)
        tokens += tokenizer.encode("assistant\n")
        return tokens
    }
}
