/// Which limit turned a request away, whoever checked it (this process's state machine, or the
/// shared database's admission function), and the error the client sees for it.
enum LimitRefusal: Equatable {
    case dailyQuota
    case monthlyQuota
    case concurrency
    case rate(retryAfterSeconds: Int)

    func error(policy: TierPolicy, category: UsageCategory) -> APIError {
        let limits = policy[category]
        switch self {
        case .dailyQuota:
            return .quotaExhausted(
                "The daily quota of \(limits.perDay ?? 0) \(category.rawValue) requests for \(policy.displayName) tier keys is used up; it resets at 00:00 UTC.")
        case .monthlyQuota:
            return .quotaExhausted(
                "The monthly quota of \(limits.perMonth ?? 0) \(category.rawValue) requests for \(policy.displayName) tier keys is used up; it resets on the 1st (UTC).")
        case .concurrency:
            let concurrency = policy.concurrency ?? 0
            return .rateLimited(
                "\(policy.displayName) tier keys can run \(concurrency) \(concurrency == 1 ? "generation" : "generations") at a time; wait for the running one to finish.",
                retryAfterSeconds: 1)
        case .rate(let retryAfter):
            return .rateLimited(
                "\(policy.displayName) tier keys can make \(limits.rate?.phrase ?? "no requests") for \(category.rawValue).",
                retryAfterSeconds: retryAfter)
        }
    }
}
