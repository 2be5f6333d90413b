import Foundation

/// A model's chat template (`tokenizer.chat_template` in its GGUF, Jinja) turned into prompt
/// tokens: the conversation is rendered as Hugging Face's `apply_chat_template` renders it, and
/// tokenized so that special tokens count only in the template's own text.
public struct ChatTemplate: Sendable {
    public struct Message: Sendable {
        public var role: String
        public var content: String

        public init(role: String, content: String) {
            self.role = role
            self.content = content
        }
    }

    /// ChatML, for files that carry no template.
    public static let chatML = """
        {% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}
        """

    public let source: String
    private let program: TemplateProgramBox

    public init(source: String) throws(TemplateError) {
        self.source = source
        program = TemplateProgramBox(try TemplateProgram(source: source))
    }

    /// The template in `file`, or ChatML when it has none.
    public init(file: GGUFFile) throws(TemplateError) {
        try self.init(source: file.metadata["tokenizer.chat_template"]?.stringValue ?? Self.chatML)
    }

    /// The rendered conversation, its pieces marked by where they came from.
    public func render(
        _ messages: [Message], addGenerationPrompt: Bool = true, bosToken: String = "", eosToken: String = "",
        now: Date = Date()
    ) throws(TemplateError) -> TemplateText {
        let conversation = TemplateValue.array(messages.map { message in
            .object([("role", .string(TemplateText(message.role, fromTemplate: false))),
                     ("content", .string(TemplateText(message.content, fromTemplate: false)))])
        })
        var renderer = TemplateRenderer(variables: [
            "messages": conversation, "add_generation_prompt": .bool(addGenerationPrompt),
            "bos_token": .text(bosToken), "eos_token": .text(eosToken),
        ], now: now)
        return try renderer.render(program.program)
    }

    /// Prompt tokens for `messages`, special tokens parsed only where the template wrote them.
    public func tokens(_ messages: [Message], tokenizer: BPETokenizer) throws(TemplateError) -> [BPETokenizer.Token] {
        try tokens(messages, tokenizer: tokenizer, limit: .max)!
    }

    /// The same, or nil as soon as they are known to be more than `limit`.
    public func tokens(_ messages: [Message], tokenizer: BPETokenizer, limit: Int) throws(TemplateError)
        -> [BPETokenizer.Token]?
    {
        let text = try render(
            messages, bosToken: tokenizer.bos.map { tokenizer.tokens[Int($0)] } ?? "",
            eosToken: tokenizer.eos.map { tokenizer.tokens[Int($0)] } ?? "")
        var literal: [Range<Int>] = []
        var offset = 0
        for piece in text.pieces {
            let length = piece.text.utf8.count
            if !piece.fromTemplate { literal.append(offset..<offset + length) }
            offset += length
        }
        return tokenizer.encode(text.string, parseSpecial: true, literalUTF8Ranges: literal, limit: limit)
    }

    /// Holds the parsed program; the AST contains no shared mutable state.
    private final class TemplateProgramBox: @unchecked Sendable {
        let program: TemplateProgram
        init(_ program: TemplateProgram) { self.program = program }
    }
}
