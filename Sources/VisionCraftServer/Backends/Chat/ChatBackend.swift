import NIOConcurrencyHelpers

/// What a chat generation produces, in order: the prompt's size (when the backend knows it before
/// the end), text deltas, then how it finished, then (when the backend knows it) exact token usage.
public enum ChatEvent: Sendable, Equatable {
    /// Lets a stream the client abandons still record what its prompt cost.
    case promptTokens(Int)
    case delta(String)
    case finished(reason: String)
    /// `cachedPromptTokens`: of the prompt's, those a backend's cache held (not computed again).
    case usage(promptTokens: Int, completionTokens: Int, cachedPromptTokens: Int = 0)
}

/// Pull-based, so a slow client slows the backend down instead of filling memory: nothing is read
/// from the backend until the consumer asks for the next event.
public struct ChatEventStream: AsyncSequence, Sendable {
    public typealias Element = ChatEvent
    private let nextEvent: @Sendable () async throws -> ChatEvent?
    private let stop: @Sendable () -> Void
    private let ready: @Sendable () -> ChatEvent?

    /// `cancel` stops the generation for a consumer that will ask for nothing more; it is called
    /// from the consuming task, between calls to `next`. `ready` gives an event that is already
    /// there without waiting (nil when none is, or at the end), for a consumer that wants to pass
    /// on several at once; by default none ever is.
    public init(
        next: @escaping @Sendable () async throws -> ChatEvent?, cancel: @escaping @Sendable () -> Void = {},
        ready: @escaping @Sendable () -> ChatEvent? = { nil }
    ) {
        self.nextEvent = next
        self.stop = cancel
        self.ready = ready
    }

    /// The next event if it is already there; nil says only that none is waiting now.
    public func readyEvent() -> ChatEvent? { ready() }

    /// Tells the backend the consumer stopped early (a client that left), so it stops generating
    /// now rather than whenever the stream happens to be released.
    public func cancel() { stop() }

    public struct AsyncIterator: AsyncIteratorProtocol {
        let nextEvent: @Sendable () async throws -> ChatEvent?
        public mutating func next() async throws -> ChatEvent? { try await nextEvent() }
    }

    public func makeAsyncIterator() -> AsyncIterator { AsyncIterator(nextEvent: nextEvent) }

    /// Events that are all known already, such as a whole answer.
    public static func of(_ events: [ChatEvent]) -> ChatEventStream {
        let remaining = NIOLockedValueBox(events[...])
        return ChatEventStream { remaining.withLockedValue { $0.popFirst() } }
    }
}

/// Anything that can generate chat completions: an upstream server or an embedded engine.
public protocol ChatBackend: Sendable {
    /// Names the backend in logs and metrics; never contains a secret.
    var id: String { get }
    /// Starts a generation. Throws before producing anything when the backend cannot take it, so
    /// the caller may try another; errors after the first event end the stream.
    func startChat(_ request: ChatCompletionRequest) async throws(BackendError) -> ChatEventStream
    /// A cheap check that the backend answers, used to bring a failed backend back.
    func probe() async -> Bool
}
