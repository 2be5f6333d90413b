import Foundation
import NIOConcurrencyHelpers

/// Remembers key lookups for a moment, so a busy key costs no database read per request.
///
/// Changes made through this repository (by this server) are seen at once; changes made by another
/// process on the same database (the `keys` CLI, another replica) within `lifetime`.
public final class CachedKeyRepository: KeyRepository {
    private struct Entry {
        var record: APIKeyRecord?
        var fetchedAt: ContinuousClock.Instant
    }

    /// The entries, and how many times they were all forgotten: a lookup that began before a
    /// change and ends after it read the old record, which must not be remembered as fresh.
    private struct State {
        var entries: [String: Entry] = [:]
        var generation = 0
    }

    private let base: any KeyRepository
    private let lifetime: Duration
    private let state = NIOLockedValueBox(State())
    /// Unknown keys are remembered too (as `nil`), so guessing costs no database read either; the
    /// cache is emptied when it grows past this many entries.
    private let capacity: Int

    public init(_ base: any KeyRepository, lifetime: Duration = .seconds(2), capacity: Int = 100_000) {
        self.base = base
        self.lifetime = lifetime
        self.capacity = capacity
    }

    public func find(hash: String) async throws -> APIKeyRecord? {
        let now = ContinuousClock.now
        let (cached, generation) = state.withLockedValue { ($0.entries[hash], $0.generation) }
        if let cached, now - cached.fetchedAt < lifetime { return cached.record }
        let record = try await base.find(hash: hash)
        state.withLockedValue { state in
            guard state.generation == generation else { return }  // changed meanwhile: maybe stale
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[hash] = Entry(record: record, fetchedAt: now)
        }
        return record
    }

    public func create(tier: Tier, tierUntil: Date?, label: String?, now: Date) async throws -> MintedKey {
        let minted = try await base.create(tier: tier, tierUntil: tierUntil, label: label, now: now)
        forgetAll()
        return minted
    }

    public func list() async throws -> [APIKeyRecord] { try await base.list() }

    public func resolve(_ reference: String) async throws -> APIKeyRecord? { try await base.resolve(reference) }

    public func revoke(id: Int64, now: Date) async throws {
        try await base.revoke(id: id, now: now)
        forgetAll()
    }

    public func setTier(id: Int64, tier: Tier, until: Date?) async throws {
        try await base.setTier(id: id, tier: tier, until: until)
        forgetAll()
    }

    public func setActive(id: Int64, active: Bool, reason: String?) async throws {
        try await base.setActive(id: id, active: active, reason: reason)
        forgetAll()
    }

    /// Entries are keyed by hash, which a change by id cannot name; changes are rare, so all go.
    /// Also for changes made around this repository, in a transaction of the bot's.
    func forgetAll() {
        state.withLockedValue { state in
            state.entries.removeAll(keepingCapacity: true)
            state.generation += 1
        }
    }
}
