import Foundation
import Logging
import PostgresNIO
import Testing
@testable import VisionCraftServer

/// The storage and limits suites on both stores: SQLite, and the throwaway PostgreSQL server that
/// `make test` starts. Each test gets an empty migrated database.
struct SharedStoreTests {
    @Test(arguments: StoreKind.available)
    func keysAreCreatedFoundChangedAndRevoked(_ kind: StoreKind) async throws {
        try await kind.with { store in
            let now = Date(timeIntervalSince1970: 1_767_225_600)
            let minted = try await store.keys.create(tier: .tier1, tierUntil: now.addingTimeInterval(86_400), label: "ann's\tkey", now: now)
            let other = try await store.keys.create(tier: .free, tierUntil: nil, label: nil, now: now)
            #expect(other.record.id == minted.record.id + 1)
            let found = try #require(try await store.keys.find(hash: APIKeySecret.hash(minted.plainText)))
            #expect(found == minted.record)
            #expect(try await store.keys.resolve(String(minted.record.id)) == minted.record)
            #expect(try await store.keys.resolve(minted.record.prefix) == minted.record)
            #expect(try await store.keys.resolve(minted.plainText) == minted.record)
            #expect(try await store.keys.resolve("vc_nothing") == nil)

            try await store.keys.setTier(id: found.id, tier: .tier2, until: nil)
            try await store.keys.setActive(id: found.id, active: false, reason: "spam")
            let changed = try #require(try await store.keys.resolve(String(found.id)))
            #expect(changed.tier == .tier2 && changed.tierUntil == nil && !changed.isActive && changed.deactivationReason == "spam")
            try await store.keys.setActive(id: found.id, active: true, reason: "ignored")
            #expect(try await store.keys.resolve(String(found.id))?.deactivationReason == nil)

            try await store.keys.revoke(id: found.id, now: now)
            #expect(try await store.keys.find(hash: APIKeySecret.hash(minted.plainText)) == nil)
            #expect(try await store.keys.list().map(\.id) == [minted.record.id, other.record.id])
            #expect(try await store.keys.list()[0].revokedAt == now)
        }
    }

    /// What the dashboards read: requests per UTC day (only the key asked for, only since the day
    /// asked for), and a key's latest requests newest first.
    @Test(arguments: StoreKind.available)
    func usageIsReadPerDayAndLatestFirst(_ kind: StoreKind) async throws {
        try await kind.with { store in
            let dayStart = Date(timeIntervalSince1970: 1_767_225_600)
            let key = try await store.keys.create(tier: .free, tierUntil: nil, label: nil, now: dayStart).record
            let other = try await store.keys.create(tier: .free, tierUntil: nil, label: nil, now: dayStart).record
            func record(_ key: APIKeyRecord, _ category: UsageCategory, _ model: String, status: Int, at offset: Double,
                        counts: Bool = true) -> UsageRecord {
                UsageRecord(keyID: key.id, category: category, model: model, promptTokens: 2, completionTokens: 7,
                            status: status, durationMilliseconds: 40, createdAt: dayStart.addingTimeInterval(offset),
                            countsTowardQuota: counts)
            }
            try await store.usage.insert([
                record(key, .chat, "a", status: 200, at: 10), record(key, .chat, "a", status: 500, at: 20),
                record(key, .chat, "a", status: 429, at: 30, counts: false), record(key, .image, "b", status: 200, at: 40),
                record(key, .chat, "a", status: 200, at: -10), record(key, .chat, "a", status: 200, at: -86_400 - 10),
                record(other, .chat, "a", status: 200, at: 50),
            ])
            let rows = try await store.usage.daily(keyID: key.id, since: dayStart.addingTimeInterval(-86_400))
            #expect(rows.map { "\(UsageJSON.day($0.day)) \($0.category.rawValue) \($0.model) \($0.requests) \($0.counted) \($0.failed)" }
                == ["2025-12-31 chat a 1 1 0", "2026-01-01 chat a 3 2 2", "2026-01-01 image b 1 1 0"])
            #expect(rows[1].promptTokens == 6 && rows[1].completionTokens == 21)
            #expect(try await store.usage.daily(keyID: nil, since: dayStart).map(\.requests).reduce(0, +) == 5)
            let recent = try await store.usage.recent(keyID: key.id, limit: 3)
            #expect(recent.map(\.status) == [200, 429, 500] && recent[0].category == .image && recent[0].model == "b")
            #expect(recent[0].createdAt == dayStart.addingTimeInterval(40) && recent[1].countsTowardQuota == false)
        }
    }

    @Test(arguments: StoreKind.available)
    func usageIsWrittenInBatchesAndSummarised(_ kind: StoreKind) async throws {
        try await kind.with { store in
            let day = Date(timeIntervalSince1970: 1_767_225_600 + 3_600)
            let key = try await store.keys.create(tier: .free, tierUntil: nil, label: nil, now: day).record
            func record(_ category: UsageCategory, status: Int, at date: Date, counts: Bool = true) -> UsageRecord {
                UsageRecord(keyID: key.id, category: category, model: "m", promptTokens: 3, completionTokens: 5,
                            status: status, durationMilliseconds: 100, createdAt: date, countsTowardQuota: counts)
            }
            try await store.usage.insert([
                record(.chat, status: 200, at: day), record(.chat, status: 502, at: day),
                record(.chat, status: 429, at: day, counts: false), record(.image, status: 200, at: day.addingTimeInterval(-86_400)),
            ])
            try await store.usage.insert([])
            let summary = try await store.usage.summary(keyID: key.id, since: nil)
            #expect(summary.map(\.category) == [.chat, .image])
            #expect(summary[0].requests == 3 && summary[0].failed == 2 && summary[0].promptTokens == 9 && summary[0].completionTokens == 15)
            #expect(summary[0].averageMilliseconds == 100 && summary[0].keyPrefix == key.prefix)
            #expect(try await store.usage.summary(keyID: nil, since: day.addingTimeInterval(-60)).map(\.requests) == [3])
            let counts = try await store.usage.quotaCounts(
                dayStart: Date(timeIntervalSince1970: 1_767_225_600), monthStart: Date(timeIntervalSince1970: 1_767_225_600 - 86_400 * 5))
            #expect(Set(counts.map { "\($0.category.rawValue) \($0.today) \($0.thisMonth)" }) == ["chat 2 2", "image 0 1"])
        }
    }

    /// The same requests get the same decisions from the in-process limits and from the
    /// database's admission function: rate (with its Retry-After), concurrency, daily quota.
    @Test(arguments: StoreKind.available)
    func limitsDecideAlikeOnBothStores(_ kind: StoreKind) async throws {
        try await kind.with { store in
            let clock = ManualClock()
            let admission = Self.admission(store, clock: clock)
            let key = try await store.keys.create(tier: .free, tierUntil: nil, label: nil, now: clock.wallClock.now()).record
            let first = try await admission.admit(key, category: .image)
            // Free: one generation at a time.
            await #expect(throws: LimitRefusal.concurrency.error(policy: TierPolicies.defaults.free, category: .chat)) {
                try await admission.admit(key, category: .chat)
            }
            await first.releaseAndWait()
            try await admission.admit(key, category: .chat).releaseAndWait()
            // One image per 10 s: 2.5 s after the first, 8 s to wait.
            clock.advance(by: 2.5)
            await #expect(throws: LimitRefusal.rate(retryAfterSeconds: 8).error(policy: TierPolicies.defaults.free, category: .image)) {
                try await admission.admit(key, category: .image)
            }
            clock.advance(by: 7.5)
            try await admission.admit(key, category: .image).releaseAndWait()
            // 20 images a day: 18 more, then the quota.
            for _ in 0..<18 {
                clock.advance(by: 10)
                try await admission.admit(key, category: .image).releaseAndWait()
            }
            clock.advance(by: 10)
            await #expect(throws: LimitRefusal.dailyQuota.error(policy: TierPolicies.defaults.free, category: .image)) {
                try await admission.admit(key, category: .image)
            }
            clock.advance(by: 86_400)
            try await admission.admit(key, category: .image).releaseAndWait()
        }
    }

    static func admission(_ store: Store, clock: ManualClock) -> any AdmissionControl {
        if let shared = store.shared {
            return PostgresAdmission(store: shared, policies: .defaults, clock: clock.wallClock)
        }
        return Admission(policies: .defaults, clock: clock.wallClock)
    }
}
