import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Takes usage records off the request path: `record` only appends to memory, and this service
/// writes them in batches. On shutdown it writes whatever is left, after the server has drained.
/// While the database is away, records wait in memory up to `capacity`; past it the newest are
/// dropped — counted in `visioncraft_usage_dropped_total` and logged, never silently.
public final class UsageRecorder: Service, Sendable {
    private let repository: any UsageRepository
    private let pending = NIOLockedValueBox<[UsageRecord]>([])
    private let interval: Duration
    private let capacity: Int
    private let onDrop: @Sendable (Int) -> Void
    /// Dropped since the last log line: one line per interval, however many are dropped.
    private let unreported = NIOLockedValueBox(0)
    private let logger: Logger

    public init(
        repository: any UsageRepository, interval: Duration = .milliseconds(250), capacity: Int = 200_000,
        onDrop: @escaping @Sendable (Int) -> Void = { _ in }, logger: Logger
    ) {
        self.repository = repository
        self.interval = interval
        self.capacity = capacity
        self.onDrop = onDrop
        self.logger = logger
    }

    public func record(_ record: UsageRecord) {
        let kept = pending.withLockedValue { records in
            guard records.count < capacity else { return false }
            records.append(record)
            return true
        }
        if !kept { dropped(1) }
    }

    /// Writes everything recorded so far. A failed write keeps the batch for the next attempt
    /// (ahead of what came meanwhile, as far as the capacity allows).
    public func flush() async throws {
        let batch = pending.withLockedValue { records in
            defer { records.removeAll(keepingCapacity: true) }
            return records
        }
        guard !batch.isEmpty else { return }
        do {
            try await repository.insert(batch)
        } catch {
            let overflow = pending.withLockedValue { records in
                records.insert(contentsOf: batch, at: 0)
                let overflow = max(0, records.count - capacity)
                records.removeLast(overflow)
                return overflow
            }
            if overflow > 0 { dropped(overflow) }
            throw error
        }
    }

    private func dropped(_ count: Int) {
        onDrop(count)
        unreported.withLockedValue { $0 += count }
    }

    private func reportDrops() {
        let count = unreported.withLockedValue { count in
            defer { count = 0 }
            return count
        }
        guard count > 0 else { return }
        logger.error("Usage buffer full while the database is unreachable; records dropped",
                     metadata: ["dropped": "\(count)", "capacity": "\(capacity)"])
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            do {
                try await flush()
            } catch {
                logger.error("Writing usage failed; will retry", metadata: ["error": "\(error)"])
            }
            reportDrops()
        }
        defer { reportDrops() }
        try await flush()
    }
}
