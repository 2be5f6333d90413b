import Foundation

/// How many wrong admin tokens are tolerated: per client address `perAddress` failures in a
/// window, and `overall` failures from all addresses together (so many addresses cannot guess in
/// parallel either). Past either, sign-ins are refused until the window has passed, right token
/// or not — the answer must not tell a guesser whether a guess was right.
///
/// A plain state machine: the caller supplies the time; the controller holds it under a lock.
struct LoginThrottle: Sendable {
    let perAddress: Int
    let overall: Int
    let window: TimeInterval

    private struct Count {
        var failures: Int
        var windowStart: Date
    }

    private var byAddress: [String: Count] = [:]
    private var all = Count(failures: 0, windowStart: .distantPast)

    init(perAddress: Int = 5, overall: Int = 50, window: TimeInterval = 60) {
        self.perAddress = perAddress
        self.overall = overall
        self.window = window
    }

    enum Decision: Equatable {
        case allowed
        /// Refused for this many more seconds.
        case refused(retryAfter: Int)
    }

    /// Whether an attempt from `address` may be checked now.
    mutating func attempt(from address: String, now: Date) -> Decision {
        expire(now)
        var waits: [TimeInterval] = []
        if let count = byAddress[address], count.failures >= perAddress {
            waits.append((count.windowStart + window).timeIntervalSince(now))
        }
        if all.failures >= overall { waits.append((all.windowStart + window).timeIntervalSince(now)) }
        guard let wait = waits.max() else { return .allowed }
        return .refused(retryAfter: max(1, Int(wait.rounded(.up))))
    }

    mutating func failed(from address: String, now: Date) {
        expire(now)
        byAddress[address, default: Count(failures: 0, windowStart: now)].failures += 1
        if all.failures == 0 { all.windowStart = now }
        all.failures += 1
    }

    mutating func succeeded(from address: String) {
        byAddress[address] = nil
    }

    private mutating func expire(_ now: Date) {
        byAddress = byAddress.filter { now < $0.value.windowStart + window }
        if now >= all.windowStart + window { all = Count(failures: 0, windowStart: now) }
    }
}
