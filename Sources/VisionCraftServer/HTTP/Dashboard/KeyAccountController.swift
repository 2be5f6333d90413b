import Foundation
import Hummingbird

/// `GET /v1/me`, `/v1/me/usage` and `/v1/me/requests`: what a key may see of itself (the `/me`
/// page reads them). The key comes in the `Authorization` header only — never in a URL, where
/// logs and browser history would keep it — and every query is bound to that key's id.
struct KeyAccountController: Sendable {
    typealias Context = AppRequestContext
    let authenticator: KeyAuthenticator
    let usage: any UsageRepository
    let policies: TierPolicies
    let clock: WallClock

    static let daysRange = 1...90
    static let requestsRange = 1...200

    func addRoutes(to router: Router<Context>) {
        router.get("/v1/me") { request, _ in try await overview(request) }
        router.get("/v1/me/usage") { request, _ in try await dailyUsage(request) }
        router.get("/v1/me/requests") { request, _ in try await recentRequests(request) }
    }

    private func key(_ request: Request) async throws -> APIKeyRecord {
        try await authenticator.authenticate(KeyedRequestReader.bearerToken(request.headers[.authorization]))
    }

    /// The key, its tier's limits, and today's use of each daily quota.
    func overview(_ request: Request) async throws -> Response {
        let key = try await key(request)
        let now = clock.now()
        let today = AdmissionStateMachine.startOfDay(now)
        let rows = try await usage.daily(keyID: key.id, since: today)
        let policy = policies[key.effectiveTier(at: now)]
        var quotas: [String: JSONValue] = [:]
        for category in UsageCategory.allCases {
            let limits = policy[category]
            let used = rows.lazy.filter { $0.category == category }.reduce(0) { $0 + $1.counted }
            quotas[category.rawValue] = [
                "used": .integer(Int64(used)), "per_day": limits.perDay.map { .integer(Int64($0)) } ?? .null,
                "limit": .string(limits.summary),
            ]
        }
        return .json([
            "key": UsageJSON.key(key, now: now, policies: policies), "today": .object(quotas),
            "concurrency": policy.concurrency.map { .integer(Int64($0)) } ?? .null,
        ])
    }

    /// The last `days` UTC days (default 30, today included), per category.
    func dailyUsage(_ request: Request) async throws -> Response {
        let key = try await key(request)
        let days = try Self.queryInt(request, "days", in: Self.daysRange, default: 30)
        let (since, today) = UsageJSON.window(days: days, now: clock.now())
        let rows = try await usage.daily(keyID: key.id, since: since)
        return .json(["days": UsageJSON.days(rows, since: since, today: today), "totals": .object(UsageJSON.perCategory(rows))])
    }

    func recentRequests(_ request: Request) async throws -> Response {
        let key = try await key(request)
        let limit = try Self.queryInt(request, "limit", in: Self.requestsRange, default: 50)
        let records = try await usage.recent(keyID: key.id, limit: limit)
        return .json(["data": .array(records.map(UsageJSON.request))])
    }

    /// A query parameter read as the body's parameters are: a clear 400 naming it when it is wrong.
    static func queryInt(_ request: Request, _ name: String, in range: ClosedRange<Int>, default value: Int)
        throws(APIError) -> Int
    {
        guard let text = request.uri.queryParameters[name[...]] else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.invalidParameter(
                name, "'\(name)' must be an integer between \(range.lowerBound) and \(range.upperBound), got '\(text)'.")
        }
        return number
    }
}
