import Foundation

/// One keyed request as it ended: what it asked for, what it cost, how it went.
public struct UsageRecord: Sendable, Equatable {
    public var keyID: Int64
    public var category: UsageCategory
    public var model: String
    public var promptTokens: Int
    public var completionTokens: Int
    /// The HTTP status the client saw; 499 when the client went away first.
    public var status: Int
    public var durationMilliseconds: Int
    public var createdAt: Date
    /// Whether the request was admitted and so spent quota.
    public var countsTowardQuota: Bool

    public init(
        keyID: Int64, category: UsageCategory, model: String, promptTokens: Int = 0, completionTokens: Int = 0,
        status: Int, durationMilliseconds: Int, createdAt: Date, countsTowardQuota: Bool
    ) {
        self.keyID = keyID
        self.category = category
        self.model = model
        self.promptTokens = promptTokens
        self.completionTokens = completionTokens
        self.status = status
        self.durationMilliseconds = durationMilliseconds
        self.createdAt = createdAt
        self.countsTowardQuota = countsTowardQuota
    }

    /// The status nginx made common for "client closed request".
    public static let clientClosedStatus = 499
}

/// One line of `visioncraft usage`.
public struct UsageSummaryRow: Sendable, Equatable {
    public var keyID: Int64
    public var keyPrefix: String
    public var category: UsageCategory
    public var requests: Int
    public var failed: Int
    public var promptTokens: Int
    public var completionTokens: Int
    public var averageMilliseconds: Int
}

/// One UTC day's requests of one key in one category on one model (the dashboards' charts).
public struct UsageDayRow: Sendable, Equatable {
    public var day: Date
    public var keyID: Int64
    public var category: UsageCategory
    public var model: String
    public var requests: Int
    /// Of those, the ones that spent quota.
    public var counted: Int
    public var failed: Int
    public var promptTokens: Int
    public var completionTokens: Int
}

public protocol UsageRepository: Sendable {
    func insert(_ records: [UsageRecord]) async throws
    func quotaCounts(dayStart: Date, monthStart: Date) async throws -> [QuotaCount]
    func summary(keyID: Int64?, since: Date?) async throws -> [UsageSummaryRow]
    /// Requests per UTC day since `since` (a day's start), of one key or of all.
    func daily(keyID: Int64?, since: Date) async throws -> [UsageDayRow]
    /// One key's latest requests, newest first.
    func recent(keyID: Int64, limit: Int) async throws -> [UsageRecord]
}
