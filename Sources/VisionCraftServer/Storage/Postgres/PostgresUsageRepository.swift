import Foundation
import PostgresNIO

/// Usage in PostgreSQL: a batch is one statement, its columns sent as arrays and unnested
/// server-side, however many records it holds.
public struct PostgresUsageRepository: UsageRepository {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public func insert(_ records: [UsageRecord]) async throws {
        guard !records.isEmpty else { return }
        let keys = records.map(\.keyID), categories = records.map(\.category.rawValue), models = records.map(\.model)
        let prompts = records.map(\.promptTokens), completions = records.map(\.completionTokens)
        let statuses = records.map(\.status), durations = records.map(\.durationMilliseconds)
        let counted = records.map { $0.countsTowardQuota ? 1 : 0 }, times = records.map(\.createdAt.timeIntervalSince1970)
        try await store.storageCall(deadline: .seconds(10)) {
            try await store.client.query("""
                INSERT INTO usage_events (key_id, category, model, prompt_tokens, completion_tokens, status, duration_ms,
                                          counts_toward_quota, created_at)
                SELECT * FROM UNNEST(\(keys)::bigint[], \(categories)::text[], \(models)::text[], \(prompts)::int[],
                                     \(completions)::int[], \(statuses)::int[], \(durations)::int[], \(counted)::int[],
                                     \(times)::float8[])
                """, logger: store.logger)
        }
    }

    public func quotaCounts(dayStart: Date, monthStart: Date) async throws -> [QuotaCount] {
        try await store.storageCall {
            var counts: [QuotaCount] = []
            let rows = try await store.client.query("""
                SELECT key_id, category, SUM(CASE WHEN created_at >= \(dayStart.timeIntervalSince1970) THEN 1 ELSE 0 END),
                       COUNT(*)
                FROM usage_events
                WHERE counts_toward_quota = 1 AND created_at >= \(monthStart.timeIntervalSince1970)
                GROUP BY key_id, category
                """, logger: store.logger)
            for try await (key, category, today, month) in rows.decode((Int64, String, Int, Int).self) {
                guard let category = UsageCategory(rawValue: category) else { continue }
                counts.append(QuotaCount(keyID: key, category: category, today: today, thisMonth: month))
            }
            return counts
        }
    }

    public func summary(keyID: Int64?, since: Date?) async throws -> [UsageSummaryRow] {
        try await store.storageCall {
            var rows: [UsageSummaryRow] = []
            let result = try await store.client.query("""
                SELECT u.key_id, k.key_prefix, u.category, COUNT(*),
                       SUM(CASE WHEN u.status >= 400 THEN 1 ELSE 0 END),
                       SUM(u.prompt_tokens), SUM(u.completion_tokens), CAST(AVG(u.duration_ms) AS BIGINT)
                FROM usage_events u JOIN api_keys k ON k.id = u.key_id
                WHERE (\(keyID)::bigint IS NULL OR u.key_id = \(keyID))
                  AND (\(since?.timeIntervalSince1970)::float8 IS NULL OR u.created_at >= \(since?.timeIntervalSince1970))
                GROUP BY u.key_id, k.key_prefix, u.category ORDER BY u.key_id, u.category
                """, logger: store.logger)
            for try await row in result.decode((Int64, String, String, Int, Int, Int, Int, Int).self) {
                guard let category = UsageCategory(rawValue: row.2) else { continue }
                rows.append(UsageSummaryRow(
                    keyID: row.0, keyPrefix: row.1, category: category, requests: row.3, failed: row.4,
                    promptTokens: row.5, completionTokens: row.6, averageMilliseconds: row.7))
            }
            return rows
        }
    }
}
