import Foundation
import Logging
import NIOConcurrencyHelpers
import Testing
@testable import VisionCraftServer

/// While the database is away, usage waits in a bounded buffer and is written when it returns;
/// what does not fit is counted, never silently lost.
struct UsageBufferTests {
    /// The real SQLite repository, refusing writes while `away` is set (the database unreachable).
    struct Interrupted: UsageRepository {
        let base: SQLiteUsageRepository
        let away = NIOLockedValueBox(true)

        func insert(_ records: [UsageRecord]) async throws {
            if away.withLockedValue({ $0 }) { throw APIError.storageUnavailable }
            try await base.insert(records)
        }

        func quotaCounts(dayStart: Date, monthStart: Date) async throws -> [QuotaCount] {
            try await base.quotaCounts(dayStart: dayStart, monthStart: monthStart)
        }

        func summary(keyID: Int64?, since: Date?) async throws -> [UsageSummaryRow] {
            try await base.summary(keyID: keyID, since: since)
        }

        func daily(keyID: Int64?, since: Date) async throws -> [UsageDayRow] {
            try await base.daily(keyID: keyID, since: since)
        }

        func recent(keyID: Int64, limit: Int) async throws -> [UsageRecord] {
            try await base.recent(keyID: keyID, limit: limit)
        }
    }

    @Test func recordsWaitForTheDatabaseAndOverflowIsCounted() async throws {
        let database = try SQLiteDatabase.inMemory()
        let key = try await SQLiteKeyRepository(database: database).create(tier: .free, tierUntil: nil, label: nil, now: Date())
        let repository = Interrupted(base: SQLiteUsageRepository(database: database))
        let dropped = NIOLockedValueBox(0)
        let recorder = UsageRecorder(repository: repository, capacity: 3, onDrop: { count in dropped.withLockedValue { $0 += count } },
                                     logger: Logger(label: "test"))
        func record(_ status: Int) -> UsageRecord {
            UsageRecord(keyID: key.record.id, category: .chat, model: "m", status: status, durationMilliseconds: 1,
                        createdAt: Date(), countsTowardQuota: true)
        }
        recorder.record(record(200))
        recorder.record(record(201))
        await #expect(throws: APIError.storageUnavailable) { try await recorder.flush() }
        recorder.record(record(202))
        recorder.record(record(203))  // a fourth does not fit
        #expect(dropped.withLockedValue { $0 } == 1)
        await #expect(throws: APIError.storageUnavailable) { try await recorder.flush() }
        #expect(dropped.withLockedValue { $0 } == 1, "a failed write keeps what it held")

        repository.away.withLockedValue { $0 = false }
        try await recorder.flush()
        let summary = try await repository.summary(keyID: key.record.id, since: nil)
        #expect(summary.map(\.requests) == [3])
        try await recorder.flush()
        #expect(try await repository.summary(keyID: key.record.id, since: nil).map(\.requests) == [3])
    }
}
