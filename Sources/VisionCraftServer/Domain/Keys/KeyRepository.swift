import Foundation

/// Where keys live. SQLite on one machine; PostgreSQL when replicas share a database.
public protocol KeyRepository: Sendable {
    func create(tier: Tier, tierUntil: Date?, label: String?, now: Date) async throws -> MintedKey
    /// The key whose hash this is, unless it was revoked.
    func find(hash: String) async throws -> APIKeyRecord?
    func list() async throws -> [APIKeyRecord]
    /// Finds a key by its id, its display prefix or its full plain text.
    func resolve(_ reference: String) async throws -> APIKeyRecord?
    func revoke(id: Int64, now: Date) async throws
    func setTier(id: Int64, tier: Tier, until: Date?) async throws
    func setActive(id: Int64, active: Bool, reason: String?) async throws
}
