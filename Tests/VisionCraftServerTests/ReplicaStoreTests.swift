import Foundation
import Logging
import NIOConcurrencyHelpers
import PostgresNIO
import Testing
@testable import VisionCraftServer

/// What replicas sharing one PostgreSQL database see of each other, each replica here a
/// connection pool and admission of its own in this process (the multi-process suite runs real
/// servers): exact limits under a concurrent burst, leases that outlive a dead replica only
/// briefly, key changes heard at once, a fast 503 when the database is away, and `db copy`.
@Suite(.enabled(if: TestPostgres.available, "needs the PostgreSQL server that make test starts"))
struct ReplicaStoreTests {
    /// Three replicas, 60 concurrent chat requests from a key allowed 5 a second and 60 from one
    /// allowed 1 a second, all at the same instant: exactly 5 and 1 get through.
    @Test func aBurstOverThreeReplicasAdmitsExactlyTheLimit() async throws {
        let url = try await TestPostgres.freshDatabase()
        let clock = ManualClock()
        try await Self.replicas(3, url) { stores in
            // Rates alone (Tier 1's cap of 4 generations at a time would depend on timing).
            var limited = TierPolicies.defaults
            limited.tier1.concurrency = nil
            limited.tier2 = TierPolicy(displayName: "Tier 2", concurrency: nil,
                                       chat: CategoryLimits(rate: RateLimit(requests: 1, seconds: 1)), image: .unlimited, gif: .unlimited)
            let admissions = stores.map { PostgresAdmission(store: $0, policies: limited, clock: clock.wallClock) }
            let keys = PostgresKeyRepository(store: stores[0])
            let fast = try await keys.create(tier: .tier1, tierUntil: nil, label: nil, now: clock.wallClock.now()).record
            let slow = try await keys.create(tier: .tier2, tierUntil: nil, label: nil, now: clock.wallClock.now()).record
            let tier2 = admissions
            let admitted = try await withThrowingTaskGroup(of: (Int64, Bool).self) { group in
                for i in 0..<120 {
                    let (admission, key) = i % 2 == 0 ? (admissions[i % 3], fast) : (tier2[i % 3], slow)
                    group.addTask {
                        do {
                            let permit = try await admission.admit(key, category: .chat)
                            await permit.releaseAndWait()
                            return (key.id, true)
                        } catch let error as APIError where error.status == .tooManyRequests {
                            return (key.id, false)
                        }
                    }
                }
                var counts: [Int64: Int] = [:]
                for try await (key, ok) in group where ok { counts[key, default: 0] += 1 }
                return counts
            }
            #expect(admitted[fast.id] == 5)
            #expect(admitted[slow.id] == 1)
        }
    }

    /// A replica that dies holding a Free key's only generation slot stops renewing its lease;
    /// another replica admits the key once the lease time has passed, not before.
    @Test func aDeadReplicasSlotReturnsAfterItsLease() async throws {
        let url = try await TestPostgres.freshDatabase()
        let clock = ManualClock()
        try await Self.replicas(2, url) { stores in
            let dying = PostgresAdmission(store: stores[0], policies: .defaults, clock: clock.wallClock, leaseSeconds: 30)
            let other = PostgresAdmission(store: stores[1], policies: .defaults, clock: clock.wallClock, leaseSeconds: 30)
            let key = try await PostgresKeyRepository(store: stores[1])
                .create(tier: .free, tierUntil: nil, label: nil, now: clock.wallClock.now()).record
            let held = try await dying.admit(key, category: .chat)
            clock.advance(by: 20)
            try await dying.renewLeases()  // alive at 20 s: the lease now runs to 50 s
            clock.advance(by: 25)
            await #expect(throws: LimitRefusal.concurrency.error(policy: TierPolicies.defaults.free, category: .chat)) {
                try await other.admit(key, category: .chat)
            }
            clock.advance(by: 5)
            try await other.admit(key, category: .chat).releaseAndWait()
            _ = held
        }
    }

    /// A key revoked through one replica (or the CLI) is refused by another as soon as the
    /// notification arrives — long before its cache entry would expire.
    @Test func aRevokeReachesTheOtherReplicasCacheAtOnce() async throws {
        let url = try await TestPostgres.freshDatabase()
        try await Self.replicas(2, url) { stores in
            let writer = PostgresKeyRepository(store: stores[0])
            let cached = CachedKeyRepository(PostgresKeyRepository(store: stores[1]), lifetime: .seconds(3600))
            let (heard, heardContinuation) = AsyncStream<Void>.makeStream()
            let events = PostgresKeyEvents(store: stores[1], onChange: {
                cached.forgetAll()
                heardContinuation.yield()
            }, logger: TestPostgres.logger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await events.run() }
                var notifications = heard.makeAsyncIterator()
                await notifications.next()  // listening
                let minted = try await writer.create(tier: .free, tierUntil: nil, label: nil, now: Date())
                await notifications.next()
                let hash = APIKeySecret.hash(minted.plainText)
                #expect(try await cached.find(hash: hash) != nil)
                let revokedAt = ContinuousClock.now
                try await writer.revoke(id: minted.record.id, now: Date())
                await notifications.next()
                #expect(try await cached.find(hash: hash) == nil)
                #expect(ContinuousClock.now - revokedAt < .seconds(1))
                group.cancelAll()
            }
        }
    }

    /// With nothing listening at the database's address, a keyed lookup fails within the request
    /// deadline as the 503 the client sees, not a hang.
    @Test func anUnreachableDatabaseIsA503Quickly() async throws {
        var url = try PostgresURL(TestPostgres.serverURL!)
        url.port = try Self.closedPort()
        try await PostgresStore(url: url, logger: TestPostgres.logger).using { store in
            let started = ContinuousClock.now
            await #expect(throws: APIError.storageUnavailable) {
                _ = try await PostgresKeyRepository(store: store).find(hash: "x")
            }
            // Not a hang. (How quickly is measured on a real server, in ReplicaProcessTests: here
            // the suite's other tests may hold the test process's few threads for seconds.)
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    /// libpq's sslmodes against the test server, which offers TLS with a self-signed certificate
    /// for localhost: `require` encrypts without checking it, `verify-full` accepts it with its
    /// CA and refuses it without, `disable` stays plain — as PostgreSQL itself reports.
    @Test func sslModesBehaveAsLibpqs() async throws {
        let server = try PostgresURL(TestPostgres.serverURL!)
        let ca = ProcessInfo.processInfo.environment["VISIONCRAFT_TEST_POSTGRES_CA"]!
        func encrypted(_ query: String, deadline: Duration = TestPostgres.deadline) async throws -> Bool {
            let url = try PostgresURL("postgres://postgres@localhost:\(server.port)/postgres?\(query)")
            return try await PostgresStore(url: url, logger: TestPostgres.logger).using { store in
                try await store.storageCall(deadline: deadline) {
                    var ssl = false
                    for try await value in try await store.client.query("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                        .decode(Bool.self) { ssl = value }
                    return ssl
                }
            }
        }
        #expect(try await encrypted("sslmode=require"))
        #expect(try await encrypted("sslmode=prefer"))
        #expect(try await encrypted("sslmode=verify-full&sslrootcert=\(ca)"))
        #expect(try await !encrypted("sslmode=disable"))
        await #expect(throws: APIError.storageUnavailable) { _ = try await encrypted("sslmode=verify-full", deadline: .seconds(3)) }
    }

    /// `db copy` moves keys (ids kept), usage, accounts, payments, bot state and queued replies
    /// with their NULLs and awkward text; new keys then continue after the copied ids.
    @Test func aSQLiteInstallationCopiesWithoutLoss() async throws {
        let source = try SQLiteDatabase.inMemory()
        let sqliteKeys = SQLiteKeyRepository(database: source)
        let now = Date(timeIntervalSince1970: 1_767_225_600.25)
        let first = try await sqliteKeys.create(tier: .tier1, tierUntil: now, label: "tab\there\nnewline \\ slash", now: now)
        let second = try await sqliteKeys.create(tier: .free, tierUntil: nil, label: nil, now: now)
        try await sqliteKeys.revoke(id: second.record.id, now: now)
        try await SQLiteUsageRepository(database: source).insert([
            UsageRecord(keyID: first.record.id, category: .image, model: "sd 1.5", status: 200, durationMilliseconds: 12,
                        createdAt: now, countsTowardQuota: true),
        ])
        let bot = SQLiteBotStore(database: source)
        try await bot.transaction { tx in
            try tx.save(TelegramAccount(userID: 9_000_000_001, chatID: -42, keyID: first.record.id, trialClaimedAt: now))
            _ = try tx.record(StarsPayment(chargeID: "ch_1", userID: 9_000_000_001, tier: .tier1, stars: 100, days: 30,
                                           paidAt: now, refundedAt: nil))
            try tx.setUpdateOffset(77)
            try tx.queue(.message(chatID: -42, text: "héllo"), now: now)
        }
        let url = try await TestPostgres.freshDatabase()
        try await Store.using(.postgres(url), requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger) { store in
            let copied = try await StoreCopy.copy(from: source, to: store.shared!)
            #expect(copied.map(\.1) == [2, 1, 1, 1, 1, 1, 0])
            #expect(try await store.keys.list() == (try await sqliteKeys.list()))
            #expect(try await store.usage.summary(keyID: nil, since: nil)
                    == (try await SQLiteUsageRepository(database: source).summary(keyID: nil, since: nil)))
            let third = try await store.keys.create(tier: .free, tierUntil: nil, label: nil, now: now)
            #expect(third.record.id == 3)
            // A second copy into the same database is refused, and changes nothing.
            await #expect(throws: ConfigurationError.self) { _ = try await StoreCopy.copy(from: source, to: store.shared!) }
            #expect(try await store.keys.list().count == 3)
            let rows = try await store.shared!.client.query(
                "SELECT a.user_id, a.chat_id, p.charge_id, s.value FROM telegram_accounts a, stars_payments p, bot_state s")
            var seen: [(Int64, Int64, String, Int64)] = []
            for try await row in rows.decode((Int64, Int64, String, Int64).self) { seen.append(row) }
            #expect(seen.count == 1 && seen[0].0 == 9_000_000_001 && seen[0].1 == -42 && seen[0].2 == "ch_1" && seen[0].3 == 77)
        }
    }

    /// `count` pools on the database at `url`, as `count` replicas would have.
    static func replicas<Value: Sendable>(
        _ count: Int, _ url: PostgresURL, _ body: ([PostgresStore]) async throws -> Value
    ) async throws -> Value {
        let stores = try (0..<count).map { _ in try PostgresStore(url: url, requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { await store.run() } }
            defer { group.cancelAll() }
            try await Store.using(.postgres(url), requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger) { _ in }  // migrated
            return try await body(stores)
        }
    }

    /// A loopback port nothing listens on.
    static func closedPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
