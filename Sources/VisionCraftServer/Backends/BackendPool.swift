import Foundation
import NIOConcurrencyHelpers

/// The backends that serve one public model. Requests go to them in turn; one that fails is
/// skipped for a cool-down that grows with each failure, then tried again.
public final class BackendPool<Backend: Sendable>: Sendable {
    public let members: [Backend]
    private let state: NIOLockedValueBox<State>
    private let clock: WallClock

    struct State {
        var next = 0
        var consecutiveFailures: [Int]
        var skipUntil: [Date?]
    }

    static var maximumCooldown: Double { 60 }

    public init(members: [Backend], clock: WallClock) {
        self.members = members
        self.clock = clock
        self.state = NIOLockedValueBox(
            State(consecutiveFailures: Array(repeating: 0, count: members.count),
                  skipUntil: Array(repeating: nil, count: members.count)))
    }

    /// Healthy members first, starting after the one used last, then those cooling down.
    public func orderedCandidates() -> [Int] {
        let now = clock.now()
        return state.withLockedValue { state in
            guard !members.isEmpty else { return [] }
            let start = state.next % members.count
            state.next = (state.next + 1) % members.count
            let rotation = (0..<members.count).map { (start + $0) % members.count }
            let healthy = rotation.filter { state.skipUntil[$0].map { $0 <= now } ?? true }
            return healthy + rotation.filter { !healthy.contains($0) }
        }
    }

    public var hasHealthyMember: Bool {
        let now = clock.now()
        return state.withLockedValue { state in
            state.skipUntil.contains { $0.map { $0 <= now } ?? true }
        }
    }

    public func isHealthy(_ index: Int) -> Bool {
        let now = clock.now()
        return state.withLockedValue { $0.skipUntil[index].map { $0 <= now } ?? true }
    }

    public func reportSuccess(_ index: Int) {
        state.withLockedValue { state in
            state.consecutiveFailures[index] = 0
            state.skipUntil[index] = nil
        }
    }

    public func reportFailure(_ index: Int) {
        let now = clock.now()
        state.withLockedValue { state in
            state.consecutiveFailures[index] += 1
            let cooldown = min(Self.maximumCooldown, pow(2, Double(state.consecutiveFailures[index] - 1)))
            state.skipUntil[index] = now.addingTimeInterval(cooldown)
        }
    }

    /// Runs `operation` on members in turn until one succeeds or fails in a way another member
    /// could not fix. Members found failing are cooled down.
    public func withFailover<Value: Sendable>(
        _ operation: (Backend) async throws(BackendError) -> Value
    ) async throws(BackendError) -> Value {
        var lastError = BackendError(.overloaded, "No backend is configured for this model.")
        for index in orderedCandidates() {
            do {
                let value = try await operation(members[index])
                reportSuccess(index)
                return value
            } catch {
                if error.countsAgainstBackend { reportFailure(index) }
                lastError = error
                if !error.isWorthRetryingElsewhere || Task.isCancelled { throw error }
            }
        }
        throw lastError
    }
}
