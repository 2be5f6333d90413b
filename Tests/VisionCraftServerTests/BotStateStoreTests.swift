import Foundation
import NIOConcurrencyHelpers
import PostgresNIO
import Testing
@testable import VisionCraftServer

/// The bot's state on both stores: accounts, payments credited once, keys changed in the same
/// transaction, the outbox, the update offset, updates claimed once; and on PostgreSQL, one
/// replica at a time running the bot, with another taking over when it dies.
struct BotStateStoreTests {
    @Test(arguments: StoreKind.available)
    func theBotsStateBehavesAlikeOnBothStores(_ kind: StoreKind) async throws {
        try await kind.with { store in
            let bot = store.bot
            let now = Date(timeIntervalSince1970: 1_767_225_600.5)
            let payment = StarsPayment(chargeID: "ch_1", userID: 9_000_000_001, tier: .tier1, stars: 100, days: 30,
                                       paidAt: now, refundedAt: nil)
            let minted = try await bot.transaction { tx in
                let minted = try tx.createKey(tier: .free, tierUntil: nil, label: "telegram", now: now)
                try tx.save(TelegramAccount(userID: 9_000_000_001, chatID: -5, keyID: minted.record.id, trialClaimedAt: now))
                #expect(try tx.record(payment))
                #expect(try !tx.record(payment), "a charge is credited once")
                try tx.setTier(keyID: minted.record.id, tier: .tier1, until: now.addingTimeInterval(30 * 86_400))
                try tx.queue(.message(chatID: -5, text: "Tier 1 until …"), now: now)
                #expect(try tx.claimUpdate(41, now: now))
                try tx.setUpdateOffset(42)
                try tx.setUpdateOffset(40)  // an earlier update finishing later moves nothing back
                return minted
            }
            // A transaction that throws leaves nothing behind.
            await #expect(throws: ConfigurationError.self) {
                try await bot.transaction { tx in
                    try tx.revokeKey(id: minted.record.id, now: now)
                    try tx.queue(.message(chatID: -5, text: "lost"), now: now)
                    throw ConfigurationError("rolled back")
                }
            }
            #expect(try await bot.account(userID: 9_000_000_001)?.keyID == minted.record.id)
            #expect(try await bot.account(userID: 9_000_000_001)?.trialClaimedAt == now)
            #expect(try await bot.accountsWithKeys().map(\.userID) == [9_000_000_001])
            #expect(try await bot.payment(chargeID: "ch_1") == payment)
            #expect(try await bot.updateOffset() == 42)
            #expect(try await store.keys.resolve(String(minted.record.id))?.tier == .tier1)
            #expect(try await store.keys.resolve(String(minted.record.id))?.revokedAt == nil)
            let queued = try await bot.queuedActions(limit: 10)
            #expect(queued.map(\.action) == [.message(chatID: -5, text: "Tier 1 until …")])
            try await bot.removeQueuedAction(id: queued[0].id)
            #expect(try await bot.queuedActions(limit: 10).isEmpty)
            try await bot.transaction { tx in
                #expect(try !tx.claimUpdate(41, now: now), "handled before")
                #expect(try tx.claimUpdate(40, now: now), "an earlier update arriving later is still handled")
                try tx.markRefunded(chargeID: "ch_1", at: now)
                #expect(try tx.payments(userID: 9_000_000_001).map(\.refundedAt) == [now])
            }
        }
    }

    /// The same webhook update posted to three replicas at once is handled by exactly one.
    @Test(.enabled(if: TestPostgres.available, "needs the PostgreSQL server that make test starts"))
    func anUpdateSentToEveryReplicaIsHandledOnce() async throws {
        let url = try await TestPostgres.freshDatabase()
        try await Store.using(.postgres(url), requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger) { _ in }
        try await ReplicaStoreTests.replicas(3, url) { stores in
            let claims = try await withThrowingTaskGroup(of: Bool.self) { group in
                for store in stores {
                    group.addTask {
                        try await PostgresBotStore(store: store).transaction { tx in try tx.claimUpdate(500, now: Date()) }
                    }
                }
                return try await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            #expect(claims.filter { $0 }.count == 1)
        }
    }

    /// Two replicas' bots: the first to ask runs; the second waits, and takes over within the
    /// issue's 10 s once the first replica's connection is gone — ended by the server, as when
    /// the replica's process dies; the first notices and stops running the bot.
    @Test(.enabled(if: TestPostgres.available, "needs the PostgreSQL server that make test starts"))
    func oneReplicaRunsTheBotAndAnotherTakesOverWhenItDies() async throws {
        let url = try await TestPostgres.freshDatabase()
        try await Store.using(.postgres(url), requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger) { _ in }
        let first = try PostgresStore(url: url, requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger)
        let second = try PostgresStore(url: url, requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger)
        let (events, event) = AsyncStream<String>.makeStream()
        let pools = [Task { await first.run() }, Task { await second.run() }]
        let leading = Task {
            await PostgresBotStore(store: first).whileLeader {
                event.yield("first leads")
                // Runs until stopped: a stream nothing feeds ends when the task is cancelled.
                let (running, continuation) = AsyncStream<Void>.makeStream()
                for await _ in running {}
                continuation.finish()
                event.yield(Task.isCancelled ? "first stopped" : "first ended")
            }
        }
        var iterator = events.makeAsyncIterator()
        #expect(await iterator.next() == "first leads")
        let waiting = Task { await PostgresBotStore(store: second).whileLeader { event.yield("second leads") } }
        // The first replica's connection ends, as a dead process's does.
        let low = PostgresBotStore.lockID & 0xFFFF_FFFF
        let terminated = try await second.client.query(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid::text::bigint = \(low)"
        ).decode(Bool.self).reduce(into: [Bool]()) { $0.append($1) }
        #expect(terminated == [true])
        let died = ContinuousClock.now
        let next = [await iterator.next(), await iterator.next()]
        #expect(Set(next) == ["first stopped", "second leads"])
        #expect(ContinuousClock.now - died < .seconds(10))
        await waiting.value
        leading.cancel()
        await leading.value
        for pool in pools { pool.cancel() }
    }
}
