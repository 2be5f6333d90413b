import Foundation

/// What the server knows of a key. The key itself is never stored, only its hash.
public struct APIKeyRecord: Sendable, Equatable {
    public var id: Int64
    /// The first characters of the key, enough for an operator to recognise it in a listing.
    public var prefix: String
    public var label: String?
    public var tier: Tier
    /// When a paid or trial tier ends; afterwards the key is on Free.
    public var tierUntil: Date?
    public var isActive: Bool
    public var deactivationReason: String?
    public var createdAt: Date
    public var revokedAt: Date?

    public init(
        id: Int64, prefix: String, label: String?, tier: Tier, tierUntil: Date?, isActive: Bool,
        deactivationReason: String?, createdAt: Date, revokedAt: Date?
    ) {
        self.id = id
        self.prefix = prefix
        self.label = label
        self.tier = tier
        self.tierUntil = tierUntil
        self.isActive = isActive
        self.deactivationReason = deactivationReason
        self.createdAt = createdAt
        self.revokedAt = revokedAt
    }

    public func effectiveTier(at now: Date) -> Tier {
        if let tierUntil, tierUntil <= now { return .free }
        return tier
    }
}

/// A newly minted key: the plain text goes to its owner once; the record is what is kept.
public struct MintedKey: Sendable {
    public var plainText: String
    public var record: APIKeyRecord
}
