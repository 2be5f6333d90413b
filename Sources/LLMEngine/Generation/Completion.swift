/// One answer in the making: turns each step's logits into a token, the token into text that is
/// safe to show (whole UTF-8, not part of a possible stop sequence), and decides when the answer
/// ends. Shared by the one-at-a-time generator and the batching scheduler, so both end answers
/// the same way.
struct Completion {
    private let tokenizer: BPETokenizer
    private let maxTokens: Int
    private var sampler: Sampler
    private var decoder = UTF8StreamDecoder()
    private var filter: StopSequenceFilter
    private(set) var result: GenerationResult

    init(_ request: GenerationRequest, tokenizer: BPETokenizer) {
        self.tokenizer = tokenizer
        maxTokens = request.maxTokens
        sampler = Sampler(request.sampling)
        filter = StopSequenceFilter(stops: request.stopSequences)
        result = GenerationResult(finishReason: .length, promptTokens: request.promptTokens.count, completionTokens: 0,
                                  cancelled: false)
    }

    /// Picks the next token from `logits`. Returns the text to show now, and the token to run
    /// next, or nil when the answer is over. `roomLeft` says whether the context has space for it.
    mutating func advance(logits: UnsafeMutableBufferPointer<Float>, roomLeft: Bool) -> (text: String, next: Int32?) {
        take(choose(logits: logits), roomLeft: roomLeft)
    }

    /// The next token from `logits`: `advance`'s first half, which touches nothing but this
    /// completion's sampler, so completions may choose on different threads at once.
    mutating func choose(logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        sampler.sample(logits)
    }

    /// `advance`'s second half, for a token from `choose`.
    mutating func take(_ token: Int32, roomLeft: Bool) -> (text: String, next: Int32?) {
        sampler.accept(token)
        result.completionTokens += 1
        // A control token (end of turn, end of text) ends the answer and is not shown.
        if token == tokenizer.eos || tokenizer.tokenTypes[Int(token)] == 3 {
            result.finishReason = .stop
            return (flush(), nil)
        }
        let (release, stopped) = filter.append(decoder.append(tokenizer.bytes(of: token)))
        if stopped {
            result.finishReason = .stop
            return (release, nil)
        }
        if result.completionTokens >= maxTokens || !roomLeft {
            result.finishReason = .length
            return (release + flush(), nil)
        }
        return (release, token)
    }

    mutating func cancel() {
        result.cancelled = true
    }

    private mutating func flush() -> String {
        filter.append(decoder.finish()).release + filter.finish()
    }
}
