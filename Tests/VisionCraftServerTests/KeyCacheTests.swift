import Foundation
import Testing
@testable import VisionCraftServer

/// The API's key cache: a lookup that was reading the database when a key changed must not leave
/// the old record behind as fresh (the bot reactivates a key and says so; the next request must
/// see it active).
struct KeyCacheTests {
    /// One key, whose first lookup waits at a gate the test opens; lookups counted.
    actor GatedKeys: KeyRepository {
        var record = APIKeyRecord(id: 1, prefix: "vc_test", label: nil, tier: .free, tierUntil: nil, isActive: false,
                                  deactivationReason: "left", createdAt: Date(timeIntervalSince1970: 0), revokedAt: nil)
        private(set) var lookups = 0
        private var entered: CheckedContinuation<Void, Never>?
        private var gate: CheckedContinuation<Void, Never>?
        private var firstHasEntered = false

        func find(hash: String) async throws -> APIKeyRecord? {
            lookups += 1
            let read = record
            if lookups == 1 {
                firstHasEntered = true
                entered?.resume()
                await withCheckedContinuation { gate = $0 }
            }
            return read
        }

        /// Returns once the first lookup has read the record and waits at the gate.
        func firstLookupWaits() async {
            if firstHasEntered { return }
            await withCheckedContinuation { entered = $0 }
        }

        func openGate() { gate?.resume() }

        func setActive(id: Int64, active: Bool, reason: String?) async throws {
            record.isActive = active
            record.deactivationReason = reason
        }

        func create(tier: Tier, tierUntil: Date?, label: String?, now: Date) async throws -> MintedKey { fatalError() }
        func list() async throws -> [APIKeyRecord] { [record] }
        func resolve(_ reference: String) async throws -> APIKeyRecord? { record }
        func revoke(id: Int64, now: Date) async throws {}
        func setTier(id: Int64, tier: Tier, until: Date?) async throws {}
    }

    @Test func aLookupThatRacedAChangeIsNotRemembered() async throws {
        let keys = GatedKeys()
        let cache = CachedKeyRepository(keys, lifetime: .seconds(3600))
        let racing = Task { try await cache.find(hash: "h") }
        await keys.firstLookupWaits()
        try await cache.setActive(id: 1, active: true, reason: nil)
        await keys.openGate()
        #expect(try await racing.value?.isActive == false, "read before the change")

        let next = try await cache.find(hash: "h")
        #expect(next?.isActive == true, "the change, not the racing lookup's record")
        #expect(await keys.lookups == 2)
        _ = try await cache.find(hash: "h")
        #expect(await keys.lookups == 2, "an undisturbed lookup is remembered")
    }
}
