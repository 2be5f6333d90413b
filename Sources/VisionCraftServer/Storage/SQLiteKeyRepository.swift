import Foundation
import GRDB

public struct SQLiteKeyRepository: KeyRepository {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    static let columns = "id, key_prefix, label, tier, tier_until, active, deactivation_reason, created_at, revoked_at"

    public func create(tier: Tier, tierUntil: Date?, label: String?, now: Date) async throws -> MintedKey {
        try await database.writer.write { db in try Self.create(db, tier: tier, tierUntil: tierUntil, label: label, now: now) }
    }

    public func find(hash: String) async throws -> APIKeyRecord? {
        try await database.writer.read { db in
            let statement = try db.cachedStatement(
                sql: "SELECT \(Self.columns) FROM api_keys WHERE key_hash = ? AND revoked_at IS NULL")
            return try Row.fetchOne(statement, arguments: [hash]).map(Self.record)
        }
    }

    public func list() async throws -> [APIKeyRecord] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.columns) FROM api_keys ORDER BY id").map(Self.record)
        }
    }

    public func resolve(_ reference: String) async throws -> APIKeyRecord? {
        try await database.writer.read { db in
            if let id = Int64(reference) { return try Self.key(db, id: id) }
            if let row = try Row.fetchOne(
                db, sql: "SELECT \(Self.columns) FROM api_keys WHERE key_hash = ?",
                arguments: [APIKeySecret.hash(reference)])
            {
                return Self.record(row)
            }
            // A prefix only counts when it names exactly one key.
            let rows = try Row.fetchAll(
                db, sql: "SELECT \(Self.columns) FROM api_keys WHERE key_prefix = ? LIMIT 2", arguments: [reference])
            return rows.count == 1 ? Self.record(rows[0]) : nil
        }
    }

    public func revoke(id: Int64, now: Date) async throws {
        try await database.writer.write { db in try Self.revoke(db, id: id, now: now) }
    }

    public func setTier(id: Int64, tier: Tier, until: Date?) async throws {
        try await database.writer.write { db in try Self.setTier(db, id: id, tier: tier, until: until) }
    }

    public func setActive(id: Int64, active: Bool, reason: String?) async throws {
        try await database.writer.write { db in try Self.setActive(db, id: id, active: active, reason: reason) }
    }

    // The statements themselves, for this repository and for transactions that change keys
    // together with other tables (the bot's).

    static func create(_ db: Database, tier: Tier, tierUntil: Date?, label: String?, now: Date) throws -> MintedKey {
        let plain = APIKeySecret.generate()
        try db.execute(
            sql: """
                INSERT INTO api_keys (key_hash, key_prefix, label, tier, tier_until, active, created_at)
                VALUES (?, ?, ?, ?, ?, 1, ?)
                """,
            arguments: [APIKeySecret.hash(plain), APIKeySecret.displayPrefix(plain), label, tier.rawValue,
                        tierUntil?.timeIntervalSince1970, now.timeIntervalSince1970])
        let record = APIKeyRecord(
            id: db.lastInsertedRowID, prefix: APIKeySecret.displayPrefix(plain), label: label, tier: tier,
            tierUntil: tierUntil, isActive: true, deactivationReason: nil, createdAt: now, revokedAt: nil)
        return MintedKey(plainText: plain, record: record)
    }

    static func key(_ db: Database, id: Int64) throws -> APIKeyRecord? {
        try Row.fetchOne(db, sql: "SELECT \(columns) FROM api_keys WHERE id = ?", arguments: [id]).map(record)
    }

    static func revoke(_ db: Database, id: Int64, now: Date) throws {
        try db.execute(sql: "UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       arguments: [now.timeIntervalSince1970, id])
    }

    static func setTier(_ db: Database, id: Int64, tier: Tier, until: Date?) throws {
        try db.execute(sql: "UPDATE api_keys SET tier = ?, tier_until = ? WHERE id = ?",
                       arguments: [tier.rawValue, until?.timeIntervalSince1970, id])
    }

    static func setActive(_ db: Database, id: Int64, active: Bool, reason: String?) throws {
        try db.execute(sql: "UPDATE api_keys SET active = ?, deactivation_reason = ? WHERE id = ?",
                       arguments: [active, active ? nil : reason, id])
    }

    static func record(_ row: Row) -> APIKeyRecord {
        APIKeyRecord(
            id: row["id"], prefix: row["key_prefix"], label: row["label"],
            tier: Tier(rawValue: row["tier"]) ?? .free,
            tierUntil: (row["tier_until"] as Double?).map(Date.init(timeIntervalSince1970:)),
            isActive: row["active"], deactivationReason: row["deactivation_reason"],
            createdAt: Date(timeIntervalSince1970: row["created_at"]),
            revokedAt: (row["revoked_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
