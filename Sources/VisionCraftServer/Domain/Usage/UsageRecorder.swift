import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Takes usage records off the request path: `record` only appends to memory, and this service
/// writes them in batches. On shutdown it writes whatever is left, after the server has drained.
public final class UsageRecorder: Service, Sendable {
    private let repository: any UsageRepository
    private let pending = NIOLockedValueBox<[UsageRecord]>([])
    private let interval: Duration
    private let logger: Logger

    public init(repository: any UsageRepository, interval: Duration = .milliseconds(250), logger: Logger) {
        self.repository = repository
        self.interval = interval
        self.logger = logger
    }

    public func record(_ record: UsageRecord) {
        pending.withLockedValue { $0.append(record) }
    }

    /// Writes everything recorded so far. A failed write keeps the batch for the next attempt.
    public func flush() async throws {
        let batch = pending.withLockedValue { records in
            defer { records.removeAll(keepingCapacity: true) }
            return records
        }
        guard !batch.isEmpty else { return }
        do {
            try await repository.insert(batch)
        } catch {
            pending.withLockedValue { $0.insert(contentsOf: batch, at: 0) }
            throw error
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            do {
                try await flush()
            } catch {
                logger.error("Writing usage failed; will retry", metadata: ["error": "\(error)"])
            }
        }
        try await flush()
    }
}
