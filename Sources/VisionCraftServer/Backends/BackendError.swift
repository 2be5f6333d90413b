/// Why a backend could not serve a request, in the terms the HTTP layer needs to answer.
public struct BackendError: Error, Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// Could not connect or the connection broke: 502, try another backend.
        case unreachable
        /// Answered with an error of its own (5xx, garbage): 502, try another backend.
        case failed
        /// Said it is busy (429/503): 503, try another backend.
        case overloaded
        /// Went silent past its deadline: 504.
        case timedOut
        /// Refused the request itself (4xx): the client's input is at fault, so 400.
        case rejected
        /// Healthy, but its queue is full (the embedded engine): 503, try another backend, no
        /// cool-down.
        case busy
        /// The request was cancelled (its client left): nobody to answer, nothing to retry.
        case cancelled
    }

    public var kind: Kind
    /// Our own words, shown to the client.
    public var message: String
    /// What the backend itself said (its error text, the status it answered), for the operator's
    /// log only: it may name upstream hosts, paths or internals, so it never reaches a client.
    public var detail: String?

    public init(_ kind: Kind, _ message: String, detail: String? = nil) {
        self.kind = kind
        self.message = message
        self.detail = detail
    }

    /// Whether another backend of the same model may succeed where this one failed.
    public var isWorthRetryingElsewhere: Bool {
        kind == .unreachable || kind == .failed || kind == .overloaded || kind == .busy
    }

    /// Whether the failure says the backend is unwell, so that it cools down before the next try.
    public var countsAgainstBackend: Bool {
        kind != .rejected && kind != .busy && kind != .cancelled
    }

    /// The error a client sees. A refusal names `rejectedParameter`, the input the backend judged:
    /// the messages of a chat, the prompt of an image.
    public func apiError(rejectedParameter: String = "messages") -> APIError {
        switch kind {
        case .unreachable, .failed: .backendFailed(message)
        case .overloaded, .busy: .backendUnavailable(message, retryAfterSeconds: 1)
        case .cancelled: .backendUnavailable(message)
        case .timedOut: .backendTimedOut(message)
        case .rejected: .invalidParameter(rejectedParameter, message)
        }
    }
}
