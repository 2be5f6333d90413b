import Foundation
import GRDB
import Logging
import PostgresNIO

/// `visioncraft db copy`: moves a SQLite installation into an empty PostgreSQL database — every
/// table, ids kept (so keys, usage, accounts and payments still point at each other), in one
/// transaction that also checks each table's row count before it commits.
public enum StoreCopy {
    /// The tables and columns that move, parents before children.
    static let tables: [(name: String, columns: [String])] = [
        ("api_keys", ["id", "key_hash", "key_prefix", "label", "tier", "tier_until", "active", "deactivation_reason",
                      "created_at", "revoked_at"]),
        ("usage_events", ["id", "key_id", "category", "model", "prompt_tokens", "completion_tokens", "status",
                          "duration_ms", "counts_toward_quota", "created_at"]),
        ("telegram_accounts", ["user_id", "chat_id", "key_id", "banned", "left_channel", "trial_claimed_at"]),
        ("stars_payments", ["charge_id", "user_id", "tier", "stars", "days", "paid_at", "refunded_at"]),
        ("bot_state", ["name", "value"]),
        ("bot_outbox", ["id", "action", "created_at"]),
        ("bot_updates", ["update_id", "handled_at"]),
    ]

    /// Rows copied per table.
    public static func copy(from source: SQLiteDatabase, to target: PostgresStore) async throws -> [(String, Int)] {
        try await target.inTransaction { connection in
            for (table, _) in tables {
                let rows = try await connection.query("SELECT count(*) FROM \(unescaped: table)", logger: target.logger)
                for try await count in rows.decode(Int.self) where count > 0 {
                    throw ConfigurationError("db copy: the target's \(table) already has \(count) rows; copy into an empty database")
                }
            }
            var copied: [(String, Int)] = []
            for (table, columns) in tables {
                let lines = try await source.writer.read { db in
                    try Row.fetchAll(db, sql: "SELECT \(columns.joined(separator: ", ")) FROM \(table) ORDER BY rowid")
                        .map { row in columns.indices.map { Self.field(row[$0] as DatabaseValue) }.joined(separator: "\t") + "\n" }
                }
                try await connection.copyFrom(table: table, columns: columns, logger: target.logger) { writer in
                    var buffer = ByteBuffer()
                    for line in lines {
                        buffer.writeString(line)
                        if buffer.readableBytes > 1 << 20 {
                            try await writer.write(buffer)
                            buffer.clear()
                        }
                    }
                    if buffer.readableBytes > 0 { try await writer.write(buffer) }
                }
                let rows = try await connection.query("SELECT count(*) FROM \(unescaped: table)", logger: target.logger)
                for try await count in rows.decode(Int.self) where count != lines.count {
                    throw ConfigurationError("db copy: \(table) has \(count) rows after copying \(lines.count); nothing was copied")
                }
                if columns[0] == "id" {
                    // Later inserts continue after the copied ids.
                    try await connection.query(
                        "SELECT setval(pg_get_serial_sequence(\(table), 'id'), COALESCE(MAX(id), 0) + 1, false) FROM \(unescaped: table)",
                        logger: target.logger)
                }
                copied.append((table, lines.count))
            }
            return copied
        }
    }

    /// One value in COPY's text format: `\N` for NULL, backslash escapes for the separators.
    static func field(_ value: DatabaseValue) -> String {
        switch value.storage {
        case .null: return "\\N"
        case .int64(let number): return String(number)
        case .double(let number): return "\(number)"
        case .string(let text):
            var escaped = ""
            for character in text.unicodeScalars {
                switch character {
                case "\\": escaped += "\\\\"
                case "\t": escaped += "\\t"
                case "\n": escaped += "\\n"
                case "\r": escaped += "\\r"
                default: escaped.unicodeScalars.append(character)
                }
            }
            return escaped
        case .blob(let data): return "\\\\x" + data.map { String(format: "%02x", $0) }.joined()
        }
    }
}
