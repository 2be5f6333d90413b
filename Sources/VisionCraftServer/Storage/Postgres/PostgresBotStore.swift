import Foundation
import Logging
import NIOCore
import PostgresNIO
import ServiceLifecycle

/// The bot's state in PostgreSQL, for replicas: the same tables and the same one-transaction rule
/// as SQLite. The bot's handlers are synchronous (they run inside SQLite's transactions), so a
/// transaction here runs them on a thread of its own, each statement waiting on its connection's
/// answer — the bot handles a few updates a second, never on the API's path.
public struct PostgresBotStore: BotStore {
    let store: PostgresStore

    public init(store: PostgresStore) {
        self.store = store
    }

    public func account(userID: Int64) async throws -> TelegramAccount? {
        try await inTransaction { tx in try tx.account(userID: userID) }
    }

    public func accountsWithKeys() async throws -> [TelegramAccount] {
        try await inTransaction { tx in try tx.accountsWithKeys() }
    }

    public func payment(chargeID: String) async throws -> StarsPayment? {
        try await inTransaction { tx in try tx.payment(chargeID: chargeID) }
    }

    public func recentPayments(limit: Int) async throws -> [StarsPayment] {
        try await inTransaction { tx in try tx.recentPayments(limit: limit) }
    }

    public func updateOffset() async throws -> Int64 {
        try await inTransaction { tx in try tx.updateOffset() }
    }

    public func transaction<Value: Sendable>(_ body: @escaping @Sendable (any BotTransaction) throws -> Value) async throws -> Value {
        try await inTransaction(body)
    }

    public func queuedActions(limit: Int) async throws -> [(id: Int64, action: BotAction?)] {
        let rows = try await inTransaction { tx in try tx.queued(limit: limit) }
        return rows.map { ($0.0, (try? JSONValue.parse($0.1)).flatMap(BotAction.init(json:))) }
    }

    public func removeQueuedAction(id: Int64) async throws {
        try await inTransaction { tx in try tx.run("DELETE FROM bot_outbox WHERE id = \(id)") }
    }

    /// `body` on a thread of its own, in one transaction on one connection.
    private func inTransaction<Value: Sendable>(_ body: @escaping @Sendable (Transaction) throws -> Value) async throws -> Value {
        let logger = store.logger
        return try await store.storageCall(deadline: .seconds(30)) {
            try await store.inTransaction { connection in
                try await HeavyWork.run { try body(Transaction(connection: connection, logger: logger)) }
            }
        }
    }

    /// The bot's lock: whichever replica holds it polls Telegram and sends the outbox. It is a
    /// session lock on a connection held for as long as the replica leads, so a replica that dies
    /// (its connection closed by the kernel) frees it at once; the others try every 2 s, and the
    /// leader checks its connection as often and stops leading when it breaks.
    static let lockID: Int64 = 0x7643_626F_74  // "vCbot"

    public var isShared: Bool { true }

    public func whileLeader(_ body: @escaping @Sendable () async -> Void) async {
        let logger = store.logger
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var led = false
            do {
                led = try await store.client.withConnection { connection in
                    let acquired = try await connection.query("SELECT pg_try_advisory_lock(\(Self.lockID))", logger: logger)
                        .collect().first?.decode(Bool.self) ?? false
                    guard acquired else { return false }
                    logger.info("This replica runs the Telegram bot")
                    let lost = await withTaskGroup(of: Bool.self) { group in
                        group.addTask {
                            await body()
                            return false
                        }
                        group.addTask {
                            while !Task.isCancelled {
                                try? await Task.sleep(for: .seconds(2))
                                if Task.isCancelled { return false }
                                // A query on a connection the server ended was seen to wait forever:
                                // no answer within the deadline counts as lost too.
                                do {
                                    try await PostgresStore.racing(deadline: .seconds(2)) {
                                        try await connection.query("SELECT 1", logger: logger).collect().count
                                    }
                                } catch {
                                    return true
                                }
                            }
                            return false
                        }
                        let first = await group.next() ?? false
                        group.cancelAll()
                        return first
                    }
                    if lost {
                        // The lock went with the connection; asking it anything more could wait forever.
                        logger.warning("Lost the bot's lock with its database connection; stopping the bot here")
                        return false
                    }
                    _ = try? await PostgresStore.racing(deadline: .seconds(2)) {
                        try await connection.query("SELECT pg_advisory_unlock(\(Self.lockID))", logger: logger).collect().count
                    }
                    return true
                }
            } catch {
                logger.warning("Could not ask for the bot's lock", metadata: ["error": "\(error)"])
            }
            if led { return }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(2)) }
        }
    }

    /// Statements on the transaction's connection, each waited for on the calling thread.
    struct Transaction: BotTransaction {
        let connection: PostgresConnection
        let logger: Logger

        @discardableResult
        func run(_ query: PostgresQuery) throws -> [PostgresRow] {
            try connection.query(query, logger: logger).wait().rows
        }

        func account(userID: Int64) throws -> TelegramAccount? {
            try run("SELECT user_id, chat_id, key_id, banned, left_channel, trial_claimed_at FROM telegram_accounts WHERE user_id = \(userID)")
                .map(Self.account).first
        }

        func accountsWithKeys() throws -> [TelegramAccount] {
            try run("""
                SELECT user_id, chat_id, key_id, banned, left_channel, trial_claimed_at
                FROM telegram_accounts WHERE key_id IS NOT NULL ORDER BY user_id
                """).map(Self.account)
        }

        func save(_ account: TelegramAccount) throws {
            try run("""
                INSERT INTO telegram_accounts (user_id, chat_id, key_id, banned, left_channel, trial_claimed_at)
                VALUES (\(account.userID), \(account.chatID), \(account.keyID), \(account.isBanned ? 1 : 0),
                        \(account.leftChannel ? 1 : 0), \(account.trialClaimedAt?.timeIntervalSince1970))
                ON CONFLICT (user_id) DO UPDATE SET chat_id = excluded.chat_id, key_id = excluded.key_id,
                    banned = excluded.banned, left_channel = excluded.left_channel, trial_claimed_at = excluded.trial_claimed_at
                """)
        }

        func record(_ payment: StarsPayment) throws -> Bool {
            let rows = try run("""
                INSERT INTO stars_payments (charge_id, user_id, tier, stars, days, paid_at)
                VALUES (\(payment.chargeID), \(payment.userID), \(payment.tier.rawValue), \(payment.stars), \(payment.days),
                        \(payment.paidAt.timeIntervalSince1970))
                ON CONFLICT (charge_id) DO NOTHING RETURNING charge_id
                """)
            return rows.count == 1
        }

        static let paymentColumns = "charge_id, user_id, tier, stars, days, paid_at, refunded_at"

        func payment(chargeID: String) throws -> StarsPayment? {
            try run("SELECT \(unescaped: Self.paymentColumns) FROM stars_payments WHERE charge_id = \(chargeID)")
                .map(Self.payment).first
        }

        func payments(userID: Int64) throws -> [StarsPayment] {
            try run("SELECT \(unescaped: Self.paymentColumns) FROM stars_payments WHERE user_id = \(userID) ORDER BY paid_at, charge_id")
                .map(Self.payment)
        }

        func recentPayments(limit: Int) throws -> [StarsPayment] {
            try run("SELECT \(unescaped: Self.paymentColumns) FROM stars_payments ORDER BY paid_at DESC, charge_id LIMIT \(limit)")
                .map(Self.payment)
        }

        func markRefunded(chargeID: String, at date: Date) throws {
            try run("UPDATE stars_payments SET refunded_at = \(date.timeIntervalSince1970) WHERE charge_id = \(chargeID)")
        }

        func createKey(tier: Tier, tierUntil: Date?, label: String?, now: Date) throws -> MintedKey {
            try wait { try await PostgresKeyRepository.create(connection, tier: tier, tierUntil: tierUntil, label: label, now: now, logger: logger) }
        }

        func key(id: Int64) throws -> APIKeyRecord? {
            try wait { try await PostgresKeyRepository.key(connection, id: id, logger: logger) }
        }

        func revokeKey(id: Int64, now: Date) throws {
            try wait { try await PostgresKeyRepository.revoke(connection, id: id, now: now, logger: logger) }
        }

        func setTier(keyID: Int64, tier: Tier, until: Date?) throws {
            try wait { try await PostgresKeyRepository.setTier(connection, id: keyID, tier: tier, until: until, logger: logger) }
        }

        func setActive(keyID: Int64, active: Bool, reason: String?) throws {
            try wait { try await PostgresKeyRepository.setActive(connection, id: keyID, active: active, reason: reason, logger: logger) }
        }

        func queue(_ action: BotAction, now: Date) throws {
            var buffer = ByteBuffer()
            JSONWriter.write(action.json, into: &buffer)
            try run("INSERT INTO bot_outbox (action, created_at) VALUES (\(String(buffer: buffer)), \(now.timeIntervalSince1970))")
        }

        func setUpdateOffset(_ offset: Int64) throws {
            try run("""
                INSERT INTO bot_state (name, value) VALUES ('update_offset', \(offset))
                ON CONFLICT (name) DO UPDATE SET value = GREATEST(bot_state.value, excluded.value)
                """)
        }

        func updateOffset() throws -> Int64 {
            try run("SELECT value FROM bot_state WHERE name = 'update_offset'").first.map { try $0.decode(Int64.self) } ?? 0
        }

        func claimUpdate(_ id: Int64, now: Date) throws -> Bool {
            try run("DELETE FROM bot_updates WHERE handled_at < \(now.timeIntervalSince1970 - 7 * 86_400)")
            return try run("""
                INSERT INTO bot_updates (update_id, handled_at) VALUES (\(id), \(now.timeIntervalSince1970))
                ON CONFLICT DO NOTHING RETURNING update_id
                """).count == 1
        }

        func requestsToday(keyID: Int64, category: UsageCategory, day: Int) throws -> Int? {
            try run("SELECT day_count FROM limit_counters WHERE key_id = \(keyID) AND category = \(category.rawValue) AND day = \(day)")
                .first.map { try $0.decode(Int.self) } ?? 0
        }

        func queued(limit: Int) throws -> [(Int64, String)] {
            try run("SELECT id, action FROM bot_outbox ORDER BY id LIMIT \(limit)").map { try $0.decode((Int64, String).self) }
        }

        /// The key repository's async statements, from this (non-pool) thread.
        private func wait<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
            let promise = connection.eventLoop.makePromise(of: T.self)
            promise.completeWithTask(body)
            return try promise.futureResult.wait()
        }

        static func account(_ row: PostgresRow) throws -> TelegramAccount {
            let (user, chat, key, banned, left, trial) = try row.decode((Int64, Int64, Int64?, Int, Int, Double?).self)
            return TelegramAccount(userID: user, chatID: chat, keyID: key, isBanned: banned != 0, leftChannel: left != 0,
                                   trialClaimedAt: trial.map(Date.init(timeIntervalSince1970:)))
        }

        static func payment(_ row: PostgresRow) throws -> StarsPayment {
            let (charge, user, tier, stars, days, paid, refunded) = try row.decode((String, Int64, String, Int, Int, Double, Double?).self)
            return StarsPayment(chargeID: charge, userID: user, tier: Tier(rawValue: tier) ?? .free, stars: stars, days: days,
                                paidAt: Date(timeIntervalSince1970: paid), refundedAt: refunded.map(Date.init(timeIntervalSince1970:)))
        }
    }
}
