import Foundation
import GRDB
import NIOCore

public struct SQLiteBotStore: BotStore {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func account(userID: Int64) async throws -> TelegramAccount? {
        try await database.writer.read { db in try Self.account(db, userID: userID) }
    }

    public func accountsWithKeys() async throws -> [TelegramAccount] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM telegram_accounts WHERE key_id IS NOT NULL ORDER BY user_id").map(Self.account)
        }
    }

    public func payment(chargeID: String) async throws -> StarsPayment? {
        try await database.writer.read { db in try Self.payment(db, chargeID: chargeID) }
    }

    public func recentPayments(limit: Int) async throws -> [StarsPayment] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM stars_payments ORDER BY paid_at DESC, charge_id LIMIT ?",
                             arguments: [limit]).map(Self.payment)
        }
    }

    public func updateOffset() async throws -> Int64 {
        try await database.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM bot_state WHERE name = 'update_offset'") ?? 0
        }
    }

    public func transaction<Value: Sendable>(_ body: @escaping @Sendable (any BotTransaction) throws -> Value) async throws -> Value {
        try await database.writer.write { db in try body(Transaction(db: db)) }
    }

    public func queuedActions(limit: Int) async throws -> [(id: Int64, action: BotAction?)] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT id, action FROM bot_outbox ORDER BY id LIMIT ?", arguments: [limit]).map { row in
                let text: String = row["action"]
                return (row["id"], (try? JSONValue.parse(text)).flatMap(BotAction.init(json:)))
            }
        }
    }

    public func removeQueuedAction(id: Int64) async throws {
        try await database.writer.write { db in
            try db.execute(sql: "DELETE FROM bot_outbox WHERE id = ?", arguments: [id])
        }
    }

    /// The bot's reads and writes on one open GRDB transaction.
    private struct Transaction: BotTransaction {
        let db: Database

        func account(userID: Int64) throws -> TelegramAccount? { try SQLiteBotStore.account(db, userID: userID) }

        func save(_ account: TelegramAccount) throws {
            try db.execute(
                sql: """
                    INSERT INTO telegram_accounts (user_id, chat_id, key_id, banned, left_channel, trial_claimed_at)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(user_id) DO UPDATE SET chat_id = excluded.chat_id, key_id = excluded.key_id,
                        banned = excluded.banned, left_channel = excluded.left_channel,
                        trial_claimed_at = excluded.trial_claimed_at
                    """,
                arguments: [account.userID, account.chatID, account.keyID, account.isBanned, account.leftChannel,
                            account.trialClaimedAt?.timeIntervalSince1970])
        }

        func record(_ payment: StarsPayment) throws -> Bool {
            try db.execute(
                sql: """
                    INSERT INTO stars_payments (charge_id, user_id, tier, stars, days, paid_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(charge_id) DO NOTHING
                    """,
                arguments: [payment.chargeID, payment.userID, payment.tier.rawValue, payment.stars, payment.days,
                            payment.paidAt.timeIntervalSince1970])
            return db.changesCount == 1
        }

        func payment(chargeID: String) throws -> StarsPayment? { try SQLiteBotStore.payment(db, chargeID: chargeID) }

        func payments(userID: Int64) throws -> [StarsPayment] {
            try Row.fetchAll(db, sql: "SELECT * FROM stars_payments WHERE user_id = ? ORDER BY paid_at, rowid",
                             arguments: [userID]).map(SQLiteBotStore.payment)
        }

        func markRefunded(chargeID: String, at date: Date) throws {
            try db.execute(sql: "UPDATE stars_payments SET refunded_at = ? WHERE charge_id = ?",
                           arguments: [date.timeIntervalSince1970, chargeID])
        }

        func createKey(tier: Tier, tierUntil: Date?, label: String?, now: Date) throws -> MintedKey {
            try SQLiteKeyRepository.create(db, tier: tier, tierUntil: tierUntil, label: label, now: now)
        }

        func key(id: Int64) throws -> APIKeyRecord? { try SQLiteKeyRepository.key(db, id: id) }

        func revokeKey(id: Int64, now: Date) throws { try SQLiteKeyRepository.revoke(db, id: id, now: now) }

        func setTier(keyID: Int64, tier: Tier, until: Date?) throws {
            try SQLiteKeyRepository.setTier(db, id: keyID, tier: tier, until: until)
        }

        func setActive(keyID: Int64, active: Bool, reason: String?) throws {
            try SQLiteKeyRepository.setActive(db, id: keyID, active: active, reason: reason)
        }

        func queue(_ action: BotAction, now: Date) throws {
            var buffer = ByteBuffer()
            JSONWriter.write(action.json, into: &buffer)
            try db.execute(sql: "INSERT INTO bot_outbox (action, created_at) VALUES (?, ?)",
                           arguments: [String(buffer: buffer), now.timeIntervalSince1970])
        }

        func requestsToday(keyID: Int64, category: UsageCategory, day: Int) throws -> Int? { nil }

        func claimUpdate(_ id: Int64, now: Date) throws -> Bool {
            try db.execute(sql: "DELETE FROM bot_updates WHERE handled_at < ?", arguments: [now.timeIntervalSince1970 - 7 * 86_400])
            try db.execute(sql: "INSERT INTO bot_updates (update_id, handled_at) VALUES (?, ?) ON CONFLICT DO NOTHING",
                           arguments: [id, now.timeIntervalSince1970])
            return db.changesCount == 1
        }

        func setUpdateOffset(_ offset: Int64) throws {
            try db.execute(
                sql: "INSERT INTO bot_state (name, value) VALUES ('update_offset', ?) ON CONFLICT(name) DO UPDATE SET value = MAX(value, excluded.value)",
                arguments: [offset])
        }
    }

    static func account(_ db: Database, userID: Int64) throws -> TelegramAccount? {
        try Row.fetchOne(db, sql: "SELECT * FROM telegram_accounts WHERE user_id = ?", arguments: [userID]).map(account)
    }

    static func payment(_ db: Database, chargeID: String) throws -> StarsPayment? {
        try Row.fetchOne(db, sql: "SELECT * FROM stars_payments WHERE charge_id = ?", arguments: [chargeID]).map(payment)
    }

    static func account(_ row: Row) -> TelegramAccount {
        TelegramAccount(
            userID: row["user_id"], chatID: row["chat_id"], keyID: row["key_id"], isBanned: row["banned"],
            leftChannel: row["left_channel"],
            trialClaimedAt: (row["trial_claimed_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    static func payment(_ row: Row) -> StarsPayment {
        StarsPayment(
            chargeID: row["charge_id"], userID: row["user_id"], tier: Tier(rawValue: row["tier"]) ?? .free,
            stars: row["stars"], days: row["days"], paidAt: Date(timeIntervalSince1970: row["paid_at"]),
            refundedAt: (row["refunded_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
