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
}

extension LlamaModel {
    /// Generates one completion on the calling thread, handing text to `emit` as soon as it is
    /// whole UTF-8 and cannot be part of a stop sequence. `isCancelled` is asked before every token.
    public func generate(
        _ request: GenerationRequest, state: LlamaState, isCancelled: () -> Bool = { false },
        emit: (String) -> Void
    ) -> GenerationResult {
        state.reset()
        var result = GenerationResult(
            finishReason: .length, promptTokens: request.promptTokens.count, completionTokens: 0, cancelled: false)
        for token in request.promptTokens {
            if isCancelled() {
                result.cancelled = true
                return result
            }
            forward(token: token, state: state)
        }
        var sampler = Sampler(request.sampling)
        var decoder = UTF8StreamDecoder()
        var filter = StopSequenceFilter(stops: request.stopSequences)
        while result.completionTokens < request.maxTokens {
            if isCancelled() {
                result.cancelled = true
                return result
            }
            let token = sampler.sample(state.logits)
            sampler.accept(token)
            result.completionTokens += 1
            // A control token (end of turn, end of text) ends the answer and is not shown.
            if token == tokenizer.eos || tokenizer.tokenTypes[Int(token)] == 3 {
                result.finishReason = .stop
                break
            }
            let (release, stopped) = filter.append(decoder.append(tokenizer.bytes(of: token)))
            if !release.isEmpty { emit(release) }
            if stopped {
                result.finishReason = .stop
                return result
            }
            guard state.position < state.capacity else { break }
            forward(token: token, state: state)
        }
        let rest = filter.append(decoder.finish()).release + filter.finish()
        if !rest.isEmpty { emit(rest) }
        return result
    }
}
