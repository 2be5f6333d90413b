import Foundation
import PostgresNIO

/// Keys in PostgreSQL. Every change also notifies `PostgresKeyEvents.channel` in its transaction,
/// so each replica's key cache forgets what it held the moment the change commits.
public struct PostgresKeyRepository: KeyRepository {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    static let columns = "id, key_prefix, label, tier, tier_until, active, deactivation_reason, created_at, revoked_at"
    typealias Columns = (Int64, String, String?, String, Double?, Int, String?, Double, Double?)

    public func create(tier: Tier, tierUntil: Date?, label: String?, now: Date) async throws -> MintedKey {
        try await store.transaction { connection in
            try await Self.create(connection, tier: tier, tierUntil: tierUntil, label: label, now: now, logger: store.logger)
        }
    }

    public func find(hash: String) async throws -> APIKeyRecord? {
        try await store.storageCall {
            try await Self.first(store.client.query(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE key_hash = \(hash) AND revoked_at IS NULL"))
        }
    }

    public func list() async throws -> [APIKeyRecord] {
        try await store.storageCall {
            var records: [APIKeyRecord] = []
            for try await row in try await store.client.query("SELECT \(unescaped: Self.columns) FROM api_keys ORDER BY id")
                .decode(Columns.self)
            {
                records.append(Self.record(row))
            }
            return records
        }
    }

    public func resolve(_ reference: String) async throws -> APIKeyRecord? {
        try await store.storageCall {
            if let id = Int64(reference) {
                return try await Self.first(store.client.query("SELECT \(unescaped: Self.columns) FROM api_keys WHERE id = \(id)"))
            }
            let hash = APIKeySecret.hash(reference)
            if let record = try await Self.first(store.client.query(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE key_hash = \(hash)"))
            {
                return record
            }
            // A prefix only counts when it names exactly one key.
            var matches: [APIKeyRecord] = []
            for try await row in try await store.client.query(
                "SELECT \(unescaped: Self.columns) FROM api_keys WHERE key_prefix = \(reference) LIMIT 2"
            ).decode(Columns.self) {
                matches.append(Self.record(row))
            }
            return matches.count == 1 ? matches[0] : nil
        }
    }

    public func revoke(id: Int64, now: Date) async throws {
        try await store.transaction { connection in try await Self.revoke(connection, id: id, now: now, logger: store.logger) }
    }

    public func setTier(id: Int64, tier: Tier, until: Date?) async throws {
        try await store.transaction { connection in
            try await Self.setTier(connection, id: id, tier: tier, until: until, logger: store.logger)
        }
    }

    public func setActive(id: Int64, active: Bool, reason: String?) async throws {
        try await store.transaction { connection in
            try await Self.setActive(connection, id: id, active: active, reason: reason, logger: store.logger)
        }
    }

    // The statements, for this repository and for the bot's transactions.

    static func create(
        _ connection: PostgresConnection, tier: Tier, tierUntil: Date?, label: String?, now: Date, logger: Logger
    ) async throws -> MintedKey {
        let plain = APIKeySecret.generate()
        let prefix = APIKeySecret.displayPrefix(plain)
        let rows = try await connection.query(
            """
            INSERT INTO api_keys (key_hash, key_prefix, label, tier, tier_until, active, created_at)
            VALUES (\(APIKeySecret.hash(plain)), \(prefix), \(label), \(tier.rawValue), \(tierUntil?.timeIntervalSince1970), 1,
                    \(now.timeIntervalSince1970))
            RETURNING id
            """, logger: logger)
        var id: Int64?
        for try await value in rows.decode(Int64.self) { id = value }
        try await notifyChange(connection, logger: logger)
        let record = APIKeyRecord(
            id: id!, prefix: prefix, label: label, tier: tier, tierUntil: tierUntil, isActive: true,
            deactivationReason: nil, createdAt: now, revokedAt: nil)
        return MintedKey(plainText: plain, record: record)
    }

    static func key(_ connection: PostgresConnection, id: Int64, logger: Logger) async throws -> APIKeyRecord? {
        try await first(connection.query("SELECT \(unescaped: columns) FROM api_keys WHERE id = \(id)", logger: logger))
    }

    static func revoke(_ connection: PostgresConnection, id: Int64, now: Date, logger: Logger) async throws {
        try await connection.query(
            "UPDATE api_keys SET revoked_at = \(now.timeIntervalSince1970) WHERE id = \(id) AND revoked_at IS NULL",
            logger: logger)
        try await notifyChange(connection, logger: logger)
    }

    static func setTier(_ connection: PostgresConnection, id: Int64, tier: Tier, until: Date?, logger: Logger) async throws {
        try await connection.query(
            "UPDATE api_keys SET tier = \(tier.rawValue), tier_until = \(until?.timeIntervalSince1970) WHERE id = \(id)",
            logger: logger)
        try await notifyChange(connection, logger: logger)
    }

    static func setActive(
        _ connection: PostgresConnection, id: Int64, active: Bool, reason: String?, logger: Logger
    ) async throws {
        try await connection.query(
            "UPDATE api_keys SET active = \(active ? 1 : 0), deactivation_reason = \(active ? nil : reason) WHERE id = \(id)",
            logger: logger)
        try await notifyChange(connection, logger: logger)
    }

    /// Delivered to the listening replicas when the transaction commits (not before, and not at
    /// all when it rolls back), as PostgreSQL's NOTIFY is transactional.
    static func notifyChange(_ connection: PostgresConnection, logger: Logger) async throws {
        try await connection.query("SELECT pg_notify(\(PostgresKeyEvents.channel), '')", logger: logger)
    }

    static func first(_ rows: PostgresRowSequence) async throws -> APIKeyRecord? {
        var record: APIKeyRecord?
        for try await row in rows.decode(Columns.self) where record == nil { record = Self.record(row) }
        return record
    }

    static func record(_ row: Columns) -> APIKeyRecord {
        APIKeyRecord(
            id: row.0, prefix: row.1, label: row.2, tier: Tier(rawValue: row.3) ?? .free,
            tierUntil: row.4.map(Date.init(timeIntervalSince1970:)), isActive: row.5 != 0, deactivationReason: row.6,
            createdAt: Date(timeIntervalSince1970: row.7), revokedAt: row.8.map(Date.init(timeIntervalSince1970:)))
    }
}
