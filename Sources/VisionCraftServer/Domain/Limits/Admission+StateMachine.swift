import DequeModule
import Foundation

/// Decides whether a key may start one more request, and remembers what it has spent.
///
/// Plain state without I/O or locks, driven by the time it is given, so every rule can be tested
/// with a hand-moved clock. `Admission` wraps it in a lock for the server.
struct AdmissionStateMachine {
    struct Slot: Hashable {
        var keyID: Int64
        var category: UsageCategory
    }

    struct PeriodCount {
        var period: Int
        var count: Int
    }

    enum Decision: Equatable {
        case admitted
        case rejected(APIError)
    }

    /// Start times of the requests per slot still inside the rate window, oldest first: at most
    /// `RateLimit.requests` of them, so each check is constant time however high the limit.
    private(set) var recent: [Slot: Deque<Double>] = [:]
    private(set) var daily: [Slot: PeriodCount] = [:]
    private(set) var monthly: [Slot: PeriodCount] = [:]
    private(set) var inFlight: [Int64: Int] = [:]

    mutating func admit(keyID: Int64, policy: TierPolicy, category: UsageCategory, now: Date) -> Decision {
        let slot = Slot(keyID: keyID, category: category)
        let limits = policy[category]
        let time = now.timeIntervalSince1970
        let day = Self.dayIndex(now)
        let month = Self.monthIndex(now)

        if let perDay = limits.perDay, count(daily[slot], in: day) >= perDay {
            return .rejected(LimitRefusal.dailyQuota.error(policy: policy, category: category))
        }
        if let perMonth = limits.perMonth, count(monthly[slot], in: month) >= perMonth {
            return .rejected(LimitRefusal.monthlyQuota.error(policy: policy, category: category))
        }
        if let concurrency = policy.concurrency, inFlight[keyID, default: 0] >= concurrency {
            return .rejected(LimitRefusal.concurrency.error(policy: policy, category: category))
        }
        if let rate = limits.rate {
            let window = Double(rate.seconds)
            var starts = recent.removeValue(forKey: slot) ?? []
            while let oldest = starts.first, oldest <= time - window { starts.removeFirst() }
            defer { recent[slot] = starts }
            if starts.count >= rate.requests {
                let retryAfter = Int((starts[0] + window - time).rounded(.up))
                return .rejected(LimitRefusal.rate(retryAfterSeconds: retryAfter).error(policy: policy, category: category))
            }
            starts.append(time)
        }
        daily[slot] = PeriodCount(period: day, count: count(daily[slot], in: day) + 1)
        monthly[slot] = PeriodCount(period: month, count: count(monthly[slot], in: month) + 1)
        inFlight[keyID, default: 0] += 1
        return .admitted
    }

    /// Called once for every admitted request when its generation ends, however it ends.
    mutating func release(keyID: Int64) {
        let remaining = inFlight[keyID, default: 1] - 1
        inFlight[keyID] = remaining > 0 ? remaining : nil
    }

    /// Restores what was spent today and this month before a restart, from recorded usage.
    mutating func restore(keyID: Int64, category: UsageCategory, today: Int, thisMonth: Int, now: Date) {
        let slot = Slot(keyID: keyID, category: category)
        daily[slot] = PeriodCount(period: Self.dayIndex(now), count: today)
        monthly[slot] = PeriodCount(period: Self.monthIndex(now), count: thisMonth)
    }

    func spentToday(keyID: Int64, category: UsageCategory, now: Date) -> Int {
        count(daily[Slot(keyID: keyID, category: category)], in: Self.dayIndex(now))
    }

    private func count(_ entry: PeriodCount?, in period: Int) -> Int {
        guard let entry, entry.period == period else { return 0 }
        return entry.count
    }

    static func dayIndex(_ date: Date) -> Int {
        Int((date.timeIntervalSince1970 / 86_400).rounded(.down))
    }

    static func monthIndex(_ date: Date) -> Int {
        let components = utcCalendar.dateComponents([.year, .month], from: date)
        return components.year! * 12 + components.month! - 1
    }

    static let utcCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    static func startOfDay(_ date: Date) -> Date {
        Date(timeIntervalSince1970: Double(dayIndex(date)) * 86_400)
    }

    static func startOfMonth(_ date: Date) -> Date {
        utcCalendar.date(from: utcCalendar.dateComponents([.year, .month], from: date))!
    }
}
