import Foundation
import GRDB

/// The embedded database: one SQLite file under the data directory, in WAL mode so readers never
/// wait for the usage writer.
public struct SQLiteDatabase: Sendable {
    public let writer: any DatabaseWriter

    /// Opens (creating if needed) and migrates the database at `path`.
    public static func open(path: String) throws -> SQLiteDatabase {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let pool = try DatabasePool(path: path, configuration: configuration)
        return try SQLiteDatabase(writer: pool)
    }

    /// A private in-memory database, for tests.
    public static func inMemory() throws -> SQLiteDatabase {
        try SQLiteDatabase(writer: DatabaseQueue())
    }

    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-keys-and-usage") { db in
            try db.execute(sql: """
                CREATE TABLE api_keys (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    key_hash TEXT NOT NULL UNIQUE,
                    key_prefix TEXT NOT NULL,
                    label TEXT,
                    tier TEXT NOT NULL,
                    tier_until REAL,
                    active INTEGER NOT NULL DEFAULT 1,
                    deactivation_reason TEXT,
                    created_at REAL NOT NULL,
                    revoked_at REAL
                );
                CREATE INDEX api_keys_prefix ON api_keys(key_prefix);
                CREATE TABLE usage_events (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    key_id INTEGER NOT NULL REFERENCES api_keys(id),
                    category TEXT NOT NULL,
                    model TEXT NOT NULL,
                    prompt_tokens INTEGER NOT NULL,
                    completion_tokens INTEGER NOT NULL,
                    status INTEGER NOT NULL,
                    duration_ms INTEGER NOT NULL,
                    counts_toward_quota INTEGER NOT NULL,
                    created_at REAL NOT NULL
                );
                CREATE INDEX usage_events_key_time ON usage_events(key_id, created_at);
                CREATE INDEX usage_events_time ON usage_events(created_at);
                """)
        }
        migrator.registerMigration("v2-telegram-bot") { db in
            try db.execute(sql: """
                CREATE TABLE telegram_accounts (
                    user_id INTEGER PRIMARY KEY,
                    chat_id INTEGER NOT NULL,
                    key_id INTEGER REFERENCES api_keys(id),
                    banned INTEGER NOT NULL DEFAULT 0,
                    left_channel INTEGER NOT NULL DEFAULT 0,
                    trial_claimed_at REAL
                );
                CREATE TABLE stars_payments (
                    charge_id TEXT PRIMARY KEY,
                    user_id INTEGER NOT NULL,
                    tier TEXT NOT NULL,
                    stars INTEGER NOT NULL,
                    days INTEGER NOT NULL,
                    paid_at REAL NOT NULL,
                    refunded_at REAL
                );
                CREATE TABLE bot_state (
                    name TEXT PRIMARY KEY,
                    value INTEGER NOT NULL
                );
                """)
        }
        migrator.registerMigration("v3-bot-outbox") { db in
            // Replies written in the same transaction as the change they report, sent afterwards.
            try db.execute(sql: """
                CREATE TABLE bot_outbox (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    action TEXT NOT NULL,
                    created_at REAL NOT NULL
                );
                """)
        }
        return migrator
    }
}
