import LLMEngine

/// Chat from a GGUF model in this process. Generation runs on the engine's own threads, never on
/// Swift's cooperative pool, so the HTTP server stays responsive while it computes; concurrent
/// requests share forward passes through the engine's continuous-batching scheduler.
public final class EmbeddedChatBackend: ChatBackend {
    public let id: String
    let model: LlamaModel
    /// nil for a base model (a file without a chat template): it continues prompts on the
    /// completions API and refuses conversations.
    let template: ChatTemplate?
    let name: String
    private let scheduler: GenerationScheduler
    /// Events a client may leave unread before its generation pauses.
    let eventCapacity: Int

    public init(model: LlamaModel, name: String, template: ChatTemplate?, options: EmbeddedEngineOptions,
                eventCapacity: Int = 64) {
        self.model = model
        self.name = name
        self.eventCapacity = eventCapacity
        self.template = template
        id = "embedded:\(name)"
        scheduler = GenerationScheduler(model: model, slots: options.sequences, contextLength: options.contextLength)
    }

    public func startChat(_ request: ChatCompletionRequest) async throws(BackendError) -> ChatEventStream {
        let prompt: [Int32]
        if let text = request.prompt {
            prompt = try await promptTokens(text: text)
        } else {
            prompt = try await promptTokens(request.messages)
        }
        let generation = GenerationRequest(
            promptTokens: prompt, maxTokens: request.maxTokens,
            sampling: SamplingParameters(
                temperature: Float(request.temperature), topK: request.topK, topP: Float(request.topP),
                repetitionPenalty: Float(request.repetitionPenalty), presencePenalty: Float(request.presencePenalty),
                frequencyPenalty: Float(request.frequencyPenalty), seed: request.seed ?? UInt64.random(in: 0...UInt64.max)),
            stopSequences: request.stop)

        let buffer = GenerationEventBuffer(capacity: eventCapacity)
        buffer.push(.promptTokens(prompt.count))
        let handle = scheduler.submit(
            generation, onText: { buffer.push(.delta($0)) },
            onFinish: { result in
                buffer.push(.finished(reason: result.finishReason.rawValue))
                buffer.push(.usage(promptTokens: result.promptTokens, completionTokens: result.completionTokens,
                                   cachedPromptTokens: result.cachedPromptTokens))
                buffer.finish()
            })
        buffer.attach(handle)
        let reader = Reader(buffer: buffer)
        return ChatEventStream(next: { await reader.buffer.next() }, cancel: { reader.buffer.cancel() },
                               ready: { reader.buffer.ready() })
    }

    public func probe() async -> Bool { true }

    /// Generations running or waiting for a slot.
    public var load: Int { scheduler.load }

    /// The conversation through the model's own chat template, as `HeavyWork`: a megabyte of prompt
    /// takes milliseconds to render and tokenize, which no other request may wait for. A template
    /// that refuses the conversation (say, roles that must alternate) or a prompt the context
    /// cannot hold is the caller's error.
    func promptTokens(_ messages: [ChatMessage]) async throws(BackendError) -> [Int32] {
        guard let template else {
            throw BackendError(.rejected, "The model '\(name)' is a base model (its file has no chat template): "
                + "send it text to continue on POST /v1/completions instead.")
        }
        let messages = messages.map { ChatTemplate.Message(role: $0.role, content: $0.text) }
        let (tokenizer, context) = (model.tokenizer, scheduler.contextLength)
        let result: Result<[Int32], BackendError>
        do {
            result = try await HeavyWork.run {
                Self.promptTokens(messages, template: template, tokenizer: tokenizer, contextLength: context)
            }
        } catch {
            throw BackendError(.failed, "The server is shutting down.")
        }
        return try result.get()
    }

    /// The completions API's prompt, as llama.cpp's server reads one (`BPETokenizer.promptTokens`).
    func promptTokens(text: String) async throws(BackendError) -> [Int32] {
        let (tokenizer, context) = (model.tokenizer, scheduler.contextLength)
        let tokens: [Int32]?
        do {
            // One position must stay free for the answer's first token.
            tokens = try await HeavyWork.run { tokenizer.promptTokens(text, limit: context - 1) }
        } catch {
            throw BackendError(.failed, "The server is shutting down.")
        }
        guard let tokens else {
            throw BackendError(.rejected, "The prompt does not fit: this model's context holds \(context) tokens.")
        }
        guard !tokens.isEmpty else { throw BackendError(.rejected, "The prompt is empty.") }
        return tokens
    }

    static func promptTokens(
        _ messages: [ChatTemplate.Message], template: ChatTemplate, tokenizer: BPETokenizer, contextLength: Int
    ) -> Result<[Int32], BackendError> {
        do {
            // One position must stay free for the answer's first token.
            guard let tokens = try template.tokens(messages, tokenizer: tokenizer, limit: contextLength - 1) else {
                return .failure(BackendError(
                    .rejected, "The prompt does not fit: this model's context holds \(contextLength) tokens."))
            }
            return .success(tokens)
        } catch .raised(let message) {
            return .failure(BackendError(.rejected, "The model's chat template refused the conversation: \(message)"))
        } catch {
            return .failure(BackendError(.failed, "The model's chat template failed: \(error)"))
        }
    }

    /// Held only by the stream handed to the caller: a caller that lets the stream go unfinished
    /// (its request failed before reading it) stops the generation, rather than leaving it paused
    /// in its slot.
    private final class Reader: Sendable {
        let buffer: GenerationEventBuffer

        init(buffer: GenerationEventBuffer) {
            self.buffer = buffer
        }

        deinit { buffer.cancel() }
    }
}
