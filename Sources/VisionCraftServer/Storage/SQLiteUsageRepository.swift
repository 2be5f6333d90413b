import Foundation
import GRDB

public struct SQLiteUsageRepository: UsageRepository {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func insert(_ records: [UsageRecord]) async throws {
        try await database.writer.write { db in
            let statement = try db.cachedStatement(sql: """
                INSERT INTO usage_events (key_id, category, model, prompt_tokens, completion_tokens, status,
                                          duration_ms, counts_toward_quota, created_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for record in records {
                try statement.execute(arguments: [
                    record.keyID, record.category.rawValue, record.model, record.promptTokens,
                    record.completionTokens, record.status, record.durationMilliseconds, record.countsTowardQuota,
                    record.createdAt.timeIntervalSince1970,
                ])
            }
        }
    }

    public func quotaCounts(dayStart: Date, monthStart: Date) async throws -> [QuotaCount] {
        try await database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT key_id, category,
                           SUM(CASE WHEN created_at >= ? THEN 1 ELSE 0 END) AS today,
                           COUNT(*) AS this_month
                    FROM usage_events
                    WHERE counts_toward_quota = 1 AND created_at >= ?
                    GROUP BY key_id, category
                    """,
                arguments: [dayStart.timeIntervalSince1970, monthStart.timeIntervalSince1970]
            ).compactMap { row in
                guard let category = UsageCategory(rawValue: row["category"]) else { return nil }
                return QuotaCount(keyID: row["key_id"], category: category, today: row["today"],
                                  thisMonth: row["this_month"])
            }
        }
    }

    public func summary(keyID: Int64?, since: Date?) async throws -> [UsageSummaryRow] {
        try await database.writer.read { db in
            var conditions: [String] = []
            var arguments: StatementArguments = []
            if let keyID {
                conditions.append("u.key_id = ?")
                arguments += [keyID]
            }
            if let since {
                conditions.append("u.created_at >= ?")
                arguments += [since.timeIntervalSince1970]
            }
            let filter = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT u.key_id, k.key_prefix, u.category, COUNT(*) AS requests,
                           SUM(CASE WHEN u.status >= 400 THEN 1 ELSE 0 END) AS failed,
                           SUM(u.prompt_tokens) AS prompt_tokens, SUM(u.completion_tokens) AS completion_tokens,
                           CAST(AVG(u.duration_ms) AS INTEGER) AS average_ms
                    FROM usage_events u JOIN api_keys k ON k.id = u.key_id
                    \(filter)
                    GROUP BY u.key_id, u.category ORDER BY u.key_id, u.category
                    """,
                arguments: arguments
            ).compactMap { row in
                guard let category = UsageCategory(rawValue: row["category"]) else { return nil }
                return UsageSummaryRow(
                    keyID: row["key_id"], keyPrefix: row["key_prefix"], category: category,
                    requests: row["requests"], failed: row["failed"], promptTokens: row["prompt_tokens"],
                    completionTokens: row["completion_tokens"], averageMilliseconds: row["average_ms"])
            }
        }
    }

    public func daily(keyID: Int64?, since: Date) async throws -> [UsageDayRow] {
        try await database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT CAST(created_at / 86400 AS INTEGER) AS day, key_id, category, model, COUNT(*) AS requests,
                           SUM(counts_toward_quota) AS counted, SUM(CASE WHEN status >= 400 THEN 1 ELSE 0 END) AS failed,
                           SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens
                    FROM usage_events
                    WHERE created_at >= ? AND (? IS NULL OR key_id = ?)
                    GROUP BY day, key_id, category, model ORDER BY day, key_id, category, model
                    """,
                arguments: [since.timeIntervalSince1970, keyID, keyID]
            ).compactMap { row in
                guard let category = UsageCategory(rawValue: row["category"]) else { return nil }
                return UsageDayRow(
                    day: Date(timeIntervalSince1970: Double(row["day"] as Int64) * 86_400), keyID: row["key_id"],
                    category: category, model: row["model"], requests: row["requests"], counted: row["counted"],
                    failed: row["failed"], promptTokens: row["prompt_tokens"], completionTokens: row["completion_tokens"])
            }
        }
    }

    public func recent(keyID: Int64, limit: Int) async throws -> [UsageRecord] {
        try await database.writer.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT category, model, prompt_tokens, completion_tokens, status, duration_ms, counts_toward_quota,
                           created_at
                    FROM usage_events WHERE key_id = ? ORDER BY created_at DESC, id DESC LIMIT ?
                    """,
                arguments: [keyID, limit]
            ).compactMap { row in
                guard let category = UsageCategory(rawValue: row["category"]) else { return nil }
                return UsageRecord(
                    keyID: keyID, category: category, model: row["model"], promptTokens: row["prompt_tokens"],
                    completionTokens: row["completion_tokens"], status: row["status"],
                    durationMilliseconds: row["duration_ms"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]), countsTowardQuota: row["counts_toward_quota"])
            }
        }
    }
}
