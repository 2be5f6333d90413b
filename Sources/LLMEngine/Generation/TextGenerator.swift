/// Why a generation ended, in OpenAI's words.
public enum FinishReason: String, Sendable {
    /// The model ended its turn, or a stop sequence appeared.
    case stop
    /// `maxTokens` or the context ran out first.
    case length
}

public struct GenerationRequest: Sendable {
    public var promptTokens: [Int32]
    public var maxTokens: Int
    public var sampling: SamplingParameters
    public var stopSequences: [String]

    public init(promptTokens: [Int32], maxTokens: Int, sampling: SamplingParameters, stopSequences: [String] = []) {
        self.promptTokens = promptTokens
        self.maxTokens = maxTokens
        self.sampling = sampling
        self.stopSequences = stopSequences
    }
}

public struct GenerationResult: Sendable, Equatable {
    public var finishReason: FinishReason
    public var promptTokens: Int
    public var completionTokens: Int
    /// Set when the caller asked to stop (its client went away).
    public var cancelled: Bool
    /// Of the prompt's tokens, how many a cache slot already held (the same start as a request it
    /// served before): they were not computed again.
    public var cachedPromptTokens = 0
}

extension LlamaModel {
    /// Generates one completion on the calling thread, handing text to `emit` as soon as it is
    /// whole UTF-8 and cannot be part of a stop sequence. `isCancelled` is asked before every step.
    public func generate(
        _ request: GenerationRequest, state: LlamaState, isCancelled: () -> Bool = { false },
        emit: (String) -> Void
    ) -> GenerationResult {
        state.reset()
        var completion = Completion(request, tokenizer: tokenizer)
        guard request.maxTokens > 0 else { return completion.result }
        let scratch = makeScratch(tokens: min(Self.promptChunk, max(1, request.promptTokens.count)))
        guard prefill(request.promptTokens, state: state, scratch: scratch, isCancelled: isCancelled) else {
            completion.cancel()
            return completion.result
        }
        while true {
            if isCancelled() {
                completion.cancel()
                return completion.result
            }
            let (text, next) = completion.advance(logits: state.logits, roomLeft: state.position < state.capacity)
            if !text.isEmpty { emit(text) }
            guard let next else { return completion.result }
            forward([Step(token: next, state: state, wantsLogits: true)], scratch: scratch)
        }
    }

    /// Runs a prompt through the model in batches of the scratch's size, asking for logits only
    /// after its last token. Returns false when `isCancelled` stopped it between batches.
    @discardableResult
    public func prefill(
        _ prompt: [BPETokenizer.Token], state: LlamaState, scratch: ForwardScratch, isCancelled: () -> Bool = { false }
    ) -> Bool {
        for start in stride(from: 0, to: prompt.count, by: scratch.tokens) {
            if isCancelled() { return false }
            let end = min(start + scratch.tokens, prompt.count)
            forward((start..<end).map {
                Step(token: prompt[$0], state: state, wantsLogits: $0 == prompt.count - 1)
            }, scratch: scratch)
        }
        return true
    }

    /// How many prompt tokens go through one forward pass: enough to read each weight once for
    /// many tokens, small enough that a long prompt does not hold up the sequences beside it.
    public static let promptChunk = 64
}
