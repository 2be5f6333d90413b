/// How fast a key may go in one category: `requests` per `seconds`.
public struct RateLimit: Codable, Sendable, Equatable {
    public var requests: Int
    public var seconds: Int

    public init(requests: Int, seconds: Int) {
        self.requests = requests
        self.seconds = seconds
    }

    /// "1 request per 10 seconds", the phrase `/limits` and 429 messages share.
    public var phrase: String {
        "\(requests) \(requests == 1 ? "request" : "requests") per \(seconds) \(seconds == 1 ? "second" : "seconds")"
    }
}

/// A tier's limits for one category. `nil` means unlimited.
public struct CategoryLimits: Codable, Sendable, Equatable {
    public var rate: RateLimit?
    public var perDay: Int?
    public var perMonth: Int?

    public init(rate: RateLimit? = nil, perDay: Int? = nil, perMonth: Int? = nil) {
        self.rate = rate
        self.perDay = perDay
        self.perMonth = perMonth
    }

    public static let unlimited = CategoryLimits()

    public var summary: String {
        var parts: [String] = []
        if let rate { parts.append(rate.phrase) }
        if let perDay { parts.append("\(perDay) per day") }
        if let perMonth { parts.append("\(perMonth) per month") }
        return parts.isEmpty ? "unlimited" : parts.joined(separator: ", ")
    }
}

/// Everything one tier allows.
public struct TierPolicy: Codable, Sendable, Equatable {
    public var displayName: String
    /// Generations one key may run at once, across categories; `nil` means no cap.
    public var concurrency: Int?
    public var chat: CategoryLimits
    public var image: CategoryLimits
    public var gif: CategoryLimits

    public init(displayName: String, concurrency: Int?, chat: CategoryLimits, image: CategoryLimits, gif: CategoryLimits) {
        self.displayName = displayName
        self.concurrency = concurrency
        self.chat = chat
        self.image = image
        self.gif = gif
    }

    public subscript(category: UsageCategory) -> CategoryLimits {
        switch category {
        case .chat: chat
        case .image: image
        case .gif: gif
        }
    }
}

/// The policies of all tiers, as configured.
public struct TierPolicies: Codable, Sendable, Equatable {
    public var free: TierPolicy
    public var tier1: TierPolicy
    public var tier2: TierPolicy

    public init(free: TierPolicy, tier1: TierPolicy, tier2: TierPolicy) {
        self.free = free
        self.tier1 = tier1
        self.tier2 = tier2
    }

    public subscript(tier: Tier) -> TierPolicy {
        switch tier {
        case .free: free
        case .tier1: tier1
        case .tier2: tier2
        }
    }

    public static let defaults = TierPolicies(
        free: TierPolicy(
            displayName: "Free", concurrency: 1,
            chat: CategoryLimits(rate: RateLimit(requests: 1, seconds: 1), perDay: 200),
            image: CategoryLimits(rate: RateLimit(requests: 1, seconds: 10), perDay: 20),
            gif: CategoryLimits(rate: RateLimit(requests: 1, seconds: 30), perDay: 5)),
        tier1: TierPolicy(
            displayName: "Tier 1", concurrency: 4,
            chat: CategoryLimits(rate: RateLimit(requests: 5, seconds: 1), perDay: 5000),
            image: CategoryLimits(rate: RateLimit(requests: 1, seconds: 1), perDay: 500),
            gif: CategoryLimits(rate: RateLimit(requests: 1, seconds: 5), perDay: 100)),
        tier2: TierPolicy(
            displayName: "Tier 2", concurrency: nil, chat: .unlimited, image: .unlimited, gif: .unlimited))

    /// The `/limits` document: tier name → category → human-readable limit.
    public var publicDescription: [String: [String: String]] {
        var document: [String: [String: String]] = [:]
        for tier in Tier.allCases {
            let policy = self[tier]
            var entry: [String: String] = [:]
            for category in UsageCategory.allCases {
                entry[category.rawValue] = policy[category].summary
            }
            entry["concurrent"] = policy.concurrency.map {
                "\($0) \($0 == 1 ? "generation" : "generations") at a time"
            } ?? "unlimited"
            document[policy.displayName] = entry
        }
        return document
    }
}
