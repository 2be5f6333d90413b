import Foundation
import Logging
import PostgresNIO

/// Applies `SchemaMigrations` to PostgreSQL: each not yet recorded in `schema_migrations` runs in
/// a transaction of its own with its record. Replicas that start together take turns on an
/// advisory lock, so every migration runs once.
enum PostgresMigrator {
    /// An arbitrary constant naming the lock (the other advisory locks use other numbers).
    static let lockID: Int64 = 0x7643_6D69_6772  // "vCmigr"

    /// The names applied by this call, in order.
    @discardableResult
    static func migrate(_ store: PostgresStore) async throws -> [String] {
        try await store.client.withConnection { connection in
            let logger = store.logger
            try await connection.query("SELECT pg_advisory_lock(\(lockID))", logger: logger)
            do {
                try await connection.query(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())",
                    logger: logger)
                var done = Set<String>()
                for try await name in try await connection.query("SELECT name FROM schema_migrations", logger: logger)
                    .decode(String.self)
                {
                    done.insert(name)
                }
                var applied: [String] = []
                for migration in SchemaMigrations.all where !done.contains(migration.name) {
                    try await connection.query("BEGIN", logger: logger)
                    for statement in statements(migration.sql(.postgres)) {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO schema_migrations (name) VALUES (\(migration.name))", logger: logger)
                    try await connection.query("COMMIT", logger: logger)
                    applied.append(migration.name)
                    logger.info("Applied migration", metadata: ["migration": "\(migration.name)"])
                }
                try await connection.query("SELECT pg_advisory_unlock(\(lockID))", logger: logger)
                return applied
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                _ = try? await connection.query("SELECT pg_advisory_unlock(\(lockID))", logger: logger)
                throw error
            }
        }
    }

    /// A script's statements: split at semicolons that end a line, except inside a `$$`-quoted
    /// function body (a prepared statement holds one command).
    static func statements(_ script: String) -> [String] {
        var statements: [String] = [], current = "", quoted = false
        for line in script.split(separator: "\n", omittingEmptySubsequences: false) {
            current += line + "\n"
            if line.components(separatedBy: "$$").count % 2 == 0 { quoted.toggle() }
            if !quoted && line.trimmingCharacters(in: .whitespaces).hasSuffix(";") {
                statements.append(current.trimmingCharacters(in: .whitespacesAndNewlines))
                current = ""
            }
        }
        let rest = current.trimmingCharacters(in: .whitespacesAndNewlines)
        return rest.isEmpty ? statements : statements + [rest]
    }
}
