/// Exponential backoff: each wait twice the last, up to a ceiling, back to the start after a
/// success. Plain state, so the schedule is tested without waiting.
struct Backoff: Sendable, Equatable {
    let initial: Duration
    let maximum: Duration
    private(set) var next: Duration

    init(initial: Duration = .seconds(1), maximum: Duration) {
        self.initial = initial
        self.maximum = maximum
        next = initial
    }

    /// The wait before the next try; the one after it doubles.
    mutating func take() -> Duration {
        defer { next = min(next * 2, maximum) }
        return next
    }

    mutating func reset() {
        next = initial
    }
}
