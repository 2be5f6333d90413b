import NIOCore

extension ConnectionGuard {
    /// Where a connection stands between requests, and so by when it must show progress. Plain
    /// state with no I/O: the handler feeds it what it sees and closes the connection when
    /// `deadline` passes.
    struct StateMachine {
        enum Phase: Equatable {
            /// Waiting for a request, nothing of it seen yet.
            case idle(since: NIODeadline)
            /// Some bytes of a request head have come, not all of it.
            case readingHead(since: NIODeadline)
            /// The head has come; its body is arriving.
            case readingBody(since: NIODeadline, bytes: Int)
            /// The whole request is in; the server is answering, which may take minutes.
            case responding
        }

        let timeouts: ConnectionTimeouts
        private(set) var phase: Phase
        /// Whether the answer to the current request is complete (it may be, before its body is read).
        private var answered = false

        init(timeouts: ConnectionTimeouts, now: NIODeadline) {
            self.timeouts = timeouts
            phase = .idle(since: now)
        }

        /// Bytes came off the socket, whether or not they finished a part.
        mutating func bytesArrived(now: NIODeadline) {
            if case .idle = phase { phase = .readingHead(since: now) }
        }

        mutating func headArrived(now: NIODeadline) {
            phase = .readingBody(since: now, bytes: 0)
            answered = false
        }

        mutating func bodyArrived(bytes: Int) {
            if case .readingBody(let since, let total) = phase { phase = .readingBody(since: since, bytes: total + bytes) }
        }

        mutating func requestEnded(now: NIODeadline) {
            phase = answered ? .idle(since: now) : .responding
        }

        mutating func responseEnded(now: NIODeadline) {
            answered = true
            if phase == .responding { phase = .idle(since: now) }
        }

        /// When the connection is closed unless something changes first; nil while answering.
        var deadline: NIODeadline? {
            switch phase {
            case .idle(let since): since + timeouts.keepAlive
            case .readingHead(let since): since + timeouts.header
            case .readingBody(let since, let bytes):
                since + timeouts.bodyGrace + .nanoseconds(Int64(bytes) * 1_000_000_000 / Int64(timeouts.minimumBodyRate))
            case .responding: nil
            }
        }

        func hasExpired(now: NIODeadline) -> Bool {
            deadline.map { now >= $0 } ?? false
        }
    }
}
