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

    public func daily(keyID: Int64?, since: Date) async throws -> [UsageDayRow] {
        try await store.storageCall {
            var rows: [UsageDayRow] = []
            let result = try await store.client.query("""
                SELECT FLOOR(created_at / 86400)::bigint AS day, key_id, category, model, COUNT(*)::bigint,
                       SUM(counts_toward_quota)::bigint, SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END)::bigint,
                       SUM(prompt_tokens)::bigint, SUM(completion_tokens)::bigint
                FROM usage_events
                WHERE created_at >= \(since.timeIntervalSince1970) AND (\(keyID)::bigint IS NULL OR key_id = \(keyID))
                GROUP BY day, key_id, category, model ORDER BY day, key_id, category, model
                """, logger: store.logger)
            for try await row in result.decode((Int64, Int64, String, String, Int, Int, Int, Int, Int).self) {
                guard let category = UsageCategory(rawValue: row.2) else { continue }
                rows.append(UsageDayRow(
                    day: Date(timeIntervalSince1970: Double(row.0) * 86_400), keyID: row.1, category: category,
                    model: row.3, requests: row.4, counted: row.5, failed: row.6, promptTokens: row.7,
                    completionTokens: row.8))
            }
            return rows
        }
    }

    public func recent(keyID: Int64, limit: Int) async throws -> [UsageRecord] {
        try await store.storageCall {
            var records: [UsageRecord] = []
            let result = try await store.client.query("""
                SELECT category, model, prompt_tokens, completion_tokens, status, duration_ms, counts_toward_quota,
                       created_at
                FROM usage_events WHERE key_id = \(keyID) ORDER BY created_at DESC, id DESC LIMIT \(limit)
                """, logger: store.logger)
            for try await row in result.decode((String, String, Int, Int, Int, Int, Int, Double).self) {
                guard let category = UsageCategory(rawValue: row.0) else { continue }
                records.append(UsageRecord(
                    keyID: keyID, category: category, model: row.1, promptTokens: row.2, completionTokens: row.3,
                    status: row.4, durationMilliseconds: row.5, createdAt: Date(timeIntervalSince1970: row.7),
                    countsTowardQuota: row.6 != 0))
            }
            return records
        }
    }
}
