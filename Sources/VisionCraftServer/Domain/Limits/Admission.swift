import Foundation
import NIOConcurrencyHelpers

/// The one place a limit is checked: every keyed request asks here before any backend work.
public final class Admission: Sendable {
    private let state = NIOLockedValueBox(AdmissionStateMachine())
    private let policies: TierPolicies
    private let clock: WallClock

    public init(policies: TierPolicies, clock: WallClock) {
        self.policies = policies
        self.clock = clock
    }

    /// Admits one request or throws the 403/429 the client should see. The returned permit must be
    /// released when the generation ends.
    public func admit(_ key: APIKeyRecord, category: UsageCategory) throws(APIError) -> Permit {
        let now = clock.now()
        let policy = policies[key.effectiveTier(at: now)]
        let decision = state.withLockedValue { $0.admit(keyID: key.id, policy: policy, category: category, now: now) }
        if case .rejected(let error) = decision { throw error }
        return Permit(keyID: key.id, admission: self)
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

    /// Holds one of a key's concurrent-generation slots until released; releasing twice is harmless.
    public final class Permit: Sendable {
        let keyID: Int64
        private let admission: Admission
        private let released = NIOLockedValueBox(false)

        init(keyID: Int64, admission: Admission) {
            self.keyID = keyID
            self.admission = admission
        }

        public func release() {
            let first = released.withLockedValue { wasReleased in
                defer { wasReleased = true }
                return !wasReleased
            }
            if first { admission.release(keyID: keyID) }
        }

        deinit { release() }
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
