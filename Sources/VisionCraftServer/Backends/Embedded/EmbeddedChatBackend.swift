import LLMEngine

/// Chat from a GGUF model in this process. Generation runs on the engine's own threads, never on
/// Swift's cooperative pool, so the HTTP server stays responsive while it computes; concurrent
/// requests share forward passes through the engine's continuous-batching scheduler.
public final class EmbeddedChatBackend: ChatBackend {
    public let id: String
    let model: LlamaModel
    let template: ChatTemplate
    private let scheduler: GenerationScheduler

    public init(model: LlamaModel, name: String, template: ChatTemplate, options: EmbeddedEngineOptions) {
        self.model = model
        self.template = template
        id = "embedded:\(name)"
        scheduler = GenerationScheduler(model: model, slots: options.sequences, contextLength: options.contextLength)
    }

    public func startChat(_ request: ChatCompletionRequest) async throws(BackendError) -> ChatEventStream {
        let prompt = try await promptTokens(request.messages)
        let generation = GenerationRequest(
            promptTokens: prompt, maxTokens: request.maxTokens,
            sampling: SamplingParameters(
                temperature: Float(request.temperature), topK: request.topK, topP: Float(request.topP),
                repetitionPenalty: Float(request.repetitionPenalty), presencePenalty: Float(request.presencePenalty),
                frequencyPenalty: Float(request.frequencyPenalty), seed: request.seed ?? UInt64.random(in: 0...UInt64.max)),
            stopSequences: request.stop)

        let (events, continuation) = AsyncThrowingStream<ChatEvent, any Error>.makeStream()
        continuation.yield(.promptTokens(prompt.count))
        let handle = scheduler.submit(
            generation, onText: { continuation.yield(.delta($0)) },
            onFinish: { result in
                continuation.yield(.finished(reason: result.finishReason.rawValue))
                continuation.yield(.usage(promptTokens: result.promptTokens, completionTokens: result.completionTokens))
                continuation.finish()
            })
        // A client that goes away frees its sequence's slot at the next step.
        continuation.onTermination = { _ in handle.cancel() }
        let iterator = EventIterator(events.makeAsyncIterator())
        return ChatEventStream(next: { try await iterator.next() }, cancel: { handle.cancel() })
    }

    public func probe() async -> Bool { true }

    /// Generations running or waiting for a slot.
    public var load: Int { scheduler.load }

    /// The conversation through the model's own chat template, as `HeavyWork`: a megabyte of prompt
    /// takes milliseconds to render and tokenize, which no other request may wait for. A template
    /// that refuses the conversation (say, roles that must alternate) or a prompt the context
    /// cannot hold is the caller's error.
    func promptTokens(_ messages: [ChatMessage]) async throws(BackendError) -> [Int32] {
        let messages = messages.map { ChatTemplate.Message(role: $0.role, content: $0.text) }
        let (template, tokenizer, context) = (template, model.tokenizer, scheduler.contextLength)
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

    /// Carries the stream's iterator into the `@Sendable` closure of `ChatEventStream`.
    private final class EventIterator: @unchecked Sendable {
        // @unchecked: a ChatEventStream is consumed by one task at a time.
        private var iterator: AsyncThrowingStream<ChatEvent, any Error>.AsyncIterator

        init(_ iterator: AsyncThrowingStream<ChatEvent, any Error>.AsyncIterator) {
            self.iterator = iterator
        }

        func next() async throws -> ChatEvent? { try await iterator.next() }
    }
}
