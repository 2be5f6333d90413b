import NIOConcurrencyHelpers
import NIOCore

/// Learns that a connection's client has gone (closed or half-closed its side) and stops the work
/// done for it. Unlike watching the request body for its end, this leaves the connection usable
/// for the next request once the response is complete.
final class ClientDeparture: Sendable {
    private struct State {
        var gone = false
        var nextToken = 0
        var handlers: [Int: @Sendable () -> Void] = [:]
    }

    private let state = NIOLockedValueBox(State())

    /// The departure signal of the connection `channel`, when the server's pipeline has one (the
    /// in-process test router's has not).
    static func of(_ channel: any Channel) async -> ClientDeparture? {
        try? await channel.pipeline.handler(type: ConnectionGuard.self).map { $0.departure }.get()
    }

    func signal() {
        let handlers = state.withLockedValue { state in
            state.gone = true
            defer { state.handlers.removeAll() }
            return Array(state.handlers.values)
        }
        for handler in handlers { handler() }
    }

    /// Runs `operation`, cancelled as soon as the client goes (or at once if it has gone).
    func cancellingOnDeparture<Value: Sendable>(_ operation: () async throws -> Value) async throws -> Value {
        try await withoutActuallyEscaping(operation) { operation in
            let (barrier, continuation) = AsyncStream<Never>.makeStream()
            let token = register { continuation.finish() }
            defer {
                unregister(token)
                continuation.finish()
            }
            return try await withThrowingTaskGroup(of: Value?.self) { group in
                // The parent waits for the group, so what `operation` borrows outlives it.
                let unchecked = UncheckedOperation(run: operation)
                group.addTask {
                    for await _ in barrier {}
                    if Task.isCancelled { return nil }
                    throw CancellationError()
                }
                group.addTask { try await unchecked.run() }
                defer { group.cancelAll() }
                while let result = try await group.next() {
                    if let value = result { return value }
                }
                throw CancellationError()
            }
        }
    }

    private func register(_ handler: @escaping @Sendable () -> Void) -> Int? {
        let token: Int? = state.withLockedValue { state in
            guard !state.gone else { return nil }
            state.nextToken += 1
            state.handlers[state.nextToken] = handler
            return state.nextToken
        }
        if token == nil { handler() }
        return token
    }

    private func unregister(_ token: Int?) {
        guard let token else { return }
        _ = state.withLockedValue { $0.handlers.removeValue(forKey: token) }
    }

    private struct UncheckedOperation<Value>: @unchecked Sendable {
        let run: () async throws -> Value
    }
}
