import Dispatch
import Foundation
import LLMEngine
import NIOConcurrencyHelpers

/// Chat from a GGUF model in this process. Generation runs on a serial dispatch queue of its own,
/// never on Swift's cooperative pool, so the HTTP server stays responsive while it computes; one
/// request is generated at a time for now.
public final class EmbeddedChatBackend: ChatBackend {
    public let id: String
    let model: LlamaModel
    private let queue: DispatchQueue
    /// Used only on `queue`.
    private let state: LlamaState

    public init(model: LlamaModel, name: String, contextLength: Int) {
        self.model = model
        id = "embedded:\(name)"
        queue = DispatchQueue(label: "visioncraft.engine.\(name)")
        state = model.makeState(capacity: contextLength)
    }

    public func startChat(_ request: ChatCompletionRequest) async throws(BackendError) -> ChatEventStream {
        let prompt = try ChatMLPrompt.tokens(for: request.messages, tokenizer: model.tokenizer)
        guard prompt.count < state.capacity else {
            throw BackendError(
                .rejected, "The prompt is \(prompt.count) tokens; this model's context holds \(state.capacity).")
        }
        let generation = GenerationRequest(
            promptTokens: prompt, maxTokens: request.maxTokens,
            sampling: SamplingParameters(
                temperature: Float(request.temperature), topK: request.topK, topP: Float(request.topP),
                repetitionPenalty: Float(request.repetitionPenalty), presencePenalty: Float(request.presencePenalty),
                frequencyPenalty: Float(request.frequencyPenalty), seed: request.seed ?? UInt64.random(in: 0...UInt64.max)),
            stopSequences: request.stop)

        let (events, continuation) = AsyncThrowingStream<ChatEvent, any Error>.makeStream()
        let cancelled = NIOLockedValueBox(false)
        continuation.onTermination = { _ in cancelled.withLockedValue { $0 = true } }
        queue.async { [model, state] in
            let result = model.generate(
                generation, state: state, isCancelled: { cancelled.withLockedValue { $0 } },
                emit: { continuation.yield(.delta($0)) })
            continuation.yield(.finished(reason: result.finishReason.rawValue))
            continuation.yield(.usage(promptTokens: result.promptTokens, completionTokens: result.completionTokens))
            continuation.finish()
        }
        let iterator = EventIterator(events.makeAsyncIterator())
        return ChatEventStream { try await iterator.next() }
    }

    public func probe() async -> Bool { true }

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
