/// A clock whose waits take a fraction of what they ask for, so a test sees a minute's backoff
/// pass in just over half a second, with every wait still in the same proportion to the others.
struct ScaledClock: Clock {
    typealias Instant = ContinuousClock.Instant
    let factor: Double

    var now: Instant { ContinuousClock.now }
    var minimumResolution: Duration { ContinuousClock().minimumResolution }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        try await ContinuousClock().sleep(for: (deadline - now) * factor)
    }
}
