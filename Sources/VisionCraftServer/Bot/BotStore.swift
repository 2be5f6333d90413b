import Foundation

/// A Telegram user as the bot knows them: their key, and what they may still do.
public struct TelegramAccount: Sendable, Equatable {
    public var userID: Int64
    /// Where the bot writes to them (their private chat with the bot).
    public var chatID: Int64
    public var keyID: Int64?
    public var isBanned: Bool
    public var leftChannel: Bool
    public var trialClaimedAt: Date?

    public init(userID: Int64, chatID: Int64, keyID: Int64? = nil, isBanned: Bool = false, leftChannel: Bool = false,
                trialClaimedAt: Date? = nil) {
        self.userID = userID
        self.chatID = chatID
        self.keyID = keyID
        self.isBanned = isBanned
        self.leftChannel = leftChannel
        self.trialClaimedAt = trialClaimedAt
    }
}

/// A Telegram Stars payment for a tier; its charge id is Telegram's and unique.
public struct StarsPayment: Sendable, Equatable {
    public var chargeID: String
    public var userID: Int64
    public var tier: Tier
    public var stars: Int
    public var days: Int
    public var paidAt: Date
    public var refundedAt: Date?
}

/// What the bot keeps between restarts: accounts, payments, how far it has read updates, and the
/// replies not yet sent. Every change goes through `transaction`.
public protocol BotStore: Sendable {
    func account(userID: Int64) async throws -> TelegramAccount?
    func accountsWithKeys() async throws -> [TelegramAccount]
    func payment(chargeID: String) async throws -> StarsPayment?
    /// The latest payments, newest first (the operator console's list).
    func recentPayments(limit: Int) async throws -> [StarsPayment]
    /// The first update id not yet handled.
    func updateOffset() async throws -> Int64
    /// Runs `body` as one transaction (see `BotTransaction`).
    func transaction<Value: Sendable>(_ body: @escaping @Sendable (any BotTransaction) throws -> Value) async throws -> Value
    /// Replies queued and not yet sent, oldest first (nil for one this version cannot read).
    func queuedActions(limit: Int) async throws -> [(id: Int64, action: BotAction?)]
    func removeQueuedAction(id: Int64) async throws
    /// Runs `body` once this process is the one that runs the bot (polls Telegram, sends the
    /// outbox), stopping it if that ends; returns when `body` does. One process on SQLite is
    /// always the one; replicas on PostgreSQL take turns on a lock.
    func whileLeader(_ body: @escaping @Sendable () async -> Void) async
    /// Whether other processes may run the bot on this store (replicas), so this one may wait.
    var isShared: Bool { get }
}

extension BotStore {
    public var isShared: Bool { false }

    public func whileLeader(_ body: @escaping @Sendable () async -> Void) async {
        await body()
    }
}
