import Foundation
import NIOConcurrencyHelpers

/// The one place a limit is checked: every keyed request asks here before any backend work.
/// One process keeps the counts itself (`Admission`); replicas that share a PostgreSQL database
/// ask it (`PostgresAdmission`), so the limits hold across all of them.
public protocol AdmissionControl: Sendable {
    /// Admits one request or throws the 403/429 the client should see (or 503 when the shared
    /// database cannot be asked). The permit must be released when the generation ends.
    func admit(_ key: APIKeyRecord, category: UsageCategory) async throws -> AdmissionPermit
}

/// Holds one of a key's concurrent-generation slots until released; releasing twice is harmless,
/// and a permit dropped unreleased releases itself.
public final class AdmissionPermit: Sendable {
    enum Release: Sendable {
        /// An update of this process's memory.
        case immediate(@Sendable () -> Void)
        /// A statement to the shared database: queued (`background`, the request path's way), or
        /// awaited (`awaited`).
        case deferred(background: @Sendable () -> Void, awaited: @Sendable () async -> Void)
    }

    private let pending: NIOLockedValueBox<Release?>

    init(_ release: Release) {
        pending = NIOLockedValueBox(release)
    }

    private func take() -> Release? {
        pending.withLockedValue { release in
            defer { release = nil }
            return release
        }
    }

    /// Frees the slot; a shared one in the background, off the caller's path.
    public func release() {
        switch take() {
        case .immediate(let action): action()
        case .deferred(let background, _): background()
        case nil: break
        }
    }

    /// Frees the slot and returns once it is free everywhere.
    public func releaseAndWait() async {
        switch take() {
        case .immediate(let action): action()
        case .deferred(_, let awaited): await awaited()
        case nil: break
        }
    }

    deinit { release() }
}

/// The limits of a single server process, kept in memory: exact, and no I/O on the request path.
public final class Admission: AdmissionControl {
    private let state = NIOLockedValueBox(AdmissionStateMachine())
    private let policies: TierPolicies
    private let clock: WallClock

    public init(policies: TierPolicies, clock: WallClock) {
        self.policies = policies
        self.clock = clock
    }

    /// Without suspending: the decision is a locked update of memory.
    public func admit(_ key: APIKeyRecord, category: UsageCategory) throws(APIError) -> AdmissionPermit {
        let now = clock.now()
        let policy = policies[key.effectiveTier(at: now)]
        let decision = state.withLockedValue { $0.admit(keyID: key.id, policy: policy, category: category, now: now) }
        if case .rejected(let error) = decision { throw error }
        let keyID = key.id
        return AdmissionPermit(.immediate { [self] in release(keyID: keyID) })
    }

    func release(keyID: Int64) {
        state.withLockedValue { $0.release(keyID: keyID) }
    }

    public func restore(_ counts: [QuotaCount]) {
        let now = clock.now()
        state.withLockedValue { machine in
            for count in counts {
                machine.restore(keyID: count.keyID, category: count.category, today: count.today,
                                thisMonth: count.thisMonth, now: now)
            }
        }
    }

    public func spentToday(keyID: Int64, category: UsageCategory) -> Int {
        let now = clock.now()
        return state.withLockedValue { $0.spentToday(keyID: keyID, category: category, now: now) }
    }
}

/// Requests a key already spent in the current day and month, as recorded in storage.
public struct QuotaCount: Sendable, Equatable {
    public var keyID: Int64
    public var category: UsageCategory
    public var today: Int
    public var thisMonth: Int

    public init(keyID: Int64, category: UsageCategory, today: Int, thisMonth: Int) {
        self.keyID = keyID
        self.category = category
        self.today = today
        self.thisMonth = thisMonth
    }
}
