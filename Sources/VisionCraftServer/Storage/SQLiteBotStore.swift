import Foundation
import GRDB

public struct SQLiteBotStore: BotStore {
    let database: SQLiteDatabase

    public init(database: SQLiteDatabase) {
        self.database = database
    }

    public func account(userID: Int64) async throws -> TelegramAccount? {
        try await database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM telegram_accounts WHERE user_id = ?", arguments: [userID]).map(Self.account)
        }
    }

    public func save(_ account: TelegramAccount) async throws {
        try await database.writer.write { db in
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
    }

    public func accountsWithKeys() async throws -> [TelegramAccount] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM telegram_accounts WHERE key_id IS NOT NULL ORDER BY user_id").map(Self.account)
        }
    }

    public func record(_ payment: StarsPayment) async throws -> Bool {
        try await database.writer.write { db in
            try db.execute(
                sql: """
                    INSERT INTO stars_payments (charge_id, user_id, tier, stars, days, paid_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT(charge_id) DO NOTHING
                    """,
                arguments: [payment.chargeID, payment.userID, payment.tier.rawValue, payment.stars, payment.days,
                            payment.paidAt.timeIntervalSince1970])
            return db.changesCount == 1
        }
    }

    public func payment(chargeID: String) async throws -> StarsPayment? {
        try await database.writer.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM stars_payments WHERE charge_id = ?", arguments: [chargeID])
                .map(Self.payment)
        }
    }

    public func payments(userID: Int64) async throws -> [StarsPayment] {
        try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM stars_payments WHERE user_id = ? ORDER BY paid_at, rowid",
                             arguments: [userID]).map(Self.payment)
        }
    }

    static func payment(_ row: Row) -> StarsPayment {
        StarsPayment(
            chargeID: row["charge_id"], userID: row["user_id"], tier: Tier(rawValue: row["tier"]) ?? .free,
            stars: row["stars"], days: row["days"], paidAt: Date(timeIntervalSince1970: row["paid_at"]),
            refundedAt: (row["refunded_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    public func markRefunded(chargeID: String, at date: Date) async throws {
        try await database.writer.write { db in
            try db.execute(sql: "UPDATE stars_payments SET refunded_at = ? WHERE charge_id = ?",
                           arguments: [date.timeIntervalSince1970, chargeID])
        }
    }

    public func updateOffset() async throws -> Int64 {
        try await database.writer.read { db in
            try Int64.fetchOne(db, sql: "SELECT value FROM bot_state WHERE name = 'update_offset'") ?? 0
        }
    }

    public func setUpdateOffset(_ offset: Int64) async throws {
        try await database.writer.write { db in
            try db.execute(
                sql: "INSERT INTO bot_state (name, value) VALUES ('update_offset', ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                arguments: [offset])
        }
    }

    static func account(_ row: Row) -> TelegramAccount {
        TelegramAccount(
            userID: row["user_id"], chatID: row["chat_id"], keyID: row["key_id"], isBanned: row["banned"],
            leftChannel: row["left_channel"],
            trialClaimedAt: (row["trial_claimed_at"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }
}
