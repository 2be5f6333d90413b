import Foundation

/// The plan a user's payments buy, worked out from the payments alone: each plan's payments run
/// one after another from the first (paying for the plan you have extends it), and the highest
/// plan still running is the one in force. A refund takes its payment out of the list, so it
/// removes exactly the time that payment bought and nothing another payment bought.
struct PaidPlan: Equatable {
    var tier: Tier
    var until: Date

    /// The plan in force at `now`, or nil when no payment covers it.
    static func inForce(_ payments: [StarsPayment], at now: Date) -> PaidPlan? {
        var ends: [Tier: Date] = [:]
        for payment in payments.sorted(by: { $0.paidAt < $1.paidAt }) where payment.refundedAt == nil {
            let start = max(ends[payment.tier] ?? payment.paidAt, payment.paidAt)
            ends[payment.tier] = start.addingTimeInterval(Double(payment.days) * 86_400)
        }
        return ends.filter { $0.value > now }.max { $0.key < $1.key }.map { PaidPlan(tier: $0.key, until: $0.value) }
    }

    /// What a key on `current` (tier, end) holds after `refunded` is refunded, given the user's
    /// other payments. A key whose plan the payments explain gets what the others still buy; one
    /// on a granted or trial plan loses the refunded time only if it is on the refunded tier.
    static func afterRefund(
        of refunded: StarsPayment, payments: [StarsPayment], current: (tier: Tier, until: Date?), at now: Date
    ) -> (tier: Tier, until: Date?) {
        let others = payments.filter { $0.chargeID != refunded.chargeID }
        let before = inForce(others + [refunded], at: now)
        if let before, before.tier == current.tier, let until = current.until, abs(until.timeIntervalSince(before.until)) < 1 {
            return inForce(others, at: now).map { ($0.tier, $0.until) } ?? (.free, nil)
        }
        guard current.tier == refunded.tier, let until = current.until else { return current }
        let shortened = until.addingTimeInterval(-Double(refunded.days) * 86_400)
        return shortened > now ? (current.tier, shortened) : (.free, nil)
    }
}
