/// The plans a key can be on. Time-limited plans (a purchase, the 24-hour trial) are a tier with
/// an end date on the key, not tiers of their own.
public enum Tier: String, Codable, CaseIterable, Sendable, Comparable {
    case free
    case tier1
    case tier2

    public static func < (lhs: Tier, rhs: Tier) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What a request spends: each has its own rate and quota.
public enum UsageCategory: String, Codable, CaseIterable, Sendable {
    case chat
    case image
    case gif
}
