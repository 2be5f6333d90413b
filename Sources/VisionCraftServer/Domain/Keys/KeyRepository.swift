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

/// Turns a key that arrived with a request into the record it names, or the 401/403 to answer.
public struct KeyAuthenticator: Sendable {
    let repository: any KeyRepository

    public init(repository: any KeyRepository) {
        self.repository = repository
    }

    public func authenticate(_ presented: String?) async throws -> APIKeyRecord {
        guard let presented, !presented.isEmpty else { throw APIError.missingKey }
        guard let record = try await repository.find(hash: APIKeySecret.hash(presented)) else {
            throw APIError.unknownKey
        }
        guard record.isActive else {
            throw APIError.keyDeactivated(record.deactivationReason ?? "it was deactivated by the operator.")
        }
        return record
    }
}
