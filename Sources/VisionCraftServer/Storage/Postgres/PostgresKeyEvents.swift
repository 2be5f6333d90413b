import Logging
import PostgresNIO
import ServiceLifecycle

/// Tells this replica when a key changed anywhere: a connection LISTENs on `channel`, which every
/// key change NOTIFYs when it commits, and each notification empties the key cache. While the
/// listener is down (the database restarting) the cache's own short lifetime is the fallback,
/// and the cache is emptied again when listening resumes, for what was missed meanwhile.
struct PostgresKeyEvents: Service {
    static let channel = "visioncraft_keys"

    let store: PostgresStore
    let onChange: @Sendable () -> Void
    let logger: Logger

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown {
                    try await store.client.withConnection { connection in
                        try await connection.listen(on: Self.channel) { notifications in
                            onChange()
                            for try await _ in notifications { onChange() }
                        }
                    }
                }
            } catch {
                guard !Task.isCancelled && !Task.isShuttingDownGracefully else { return }
                logger.warning("Listening for key changes failed; retrying", metadata: ["error": "\(error)"])
            }
            // The pool itself waits for the server between connection attempts.
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .milliseconds(500)) }
        }
    }
}
