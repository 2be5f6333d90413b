import Foundation

/// Everything the handling of one update reads and changes, inside one database transaction: the
/// accounts, keys and payments it touches, the replies it queues and the mark that the update is
/// handled commit together or not at all. So a key minted for a user is never lost with the reply
/// that shows it, and an update is never applied twice. (Calls to Telegram happen outside.)
public protocol BotTransaction {
    func account(userID: Int64) throws -> TelegramAccount?
    func save(_ account: TelegramAccount) throws
    /// Records a payment; false when this charge was recorded before, so it is credited once.
    func record(_ payment: StarsPayment) throws -> Bool
    func payment(chargeID: String) throws -> StarsPayment?
    /// Every payment of one user, refunded ones included, oldest first.
    func payments(userID: Int64) throws -> [StarsPayment]
    func markRefunded(chargeID: String, at: Date) throws

    func createKey(tier: Tier, tierUntil: Date?, label: String?, now: Date) throws -> MintedKey
    func key(id: Int64) throws -> APIKeyRecord?
    func revokeKey(id: Int64, now: Date) throws
    func setTier(keyID: Int64, tier: Tier, until: Date?) throws
    func setActive(keyID: Int64, active: Bool, reason: String?) throws

    /// Queues a reply in the outbox, to be sent once the transaction commits.
    func queue(_ action: BotAction, now: Date) throws
    /// Moves the polling offset forward to `offset` (never back).
    func setUpdateOffset(_ offset: Int64) throws
    /// Records update `id` as handled by this transaction; false when it was handled before (a
    /// webhook retried, or posted to two replicas: the second waits for the first's commit).
    func claimUpdate(_ id: Int64, now: Date) throws -> Bool
    /// Requests a key was admitted to today in a category, where the store counts them (shared
    /// limits); nil where this process does (SQLite: ask its `Admission`).
    func requestsToday(keyID: Int64, category: UsageCategory, day: Int) throws -> Int?
}
