import Foundation
import Hummingbird

/// The operator console's API under `/admin/api`: keys, usage and the bot's accounts and
/// payments. Reads need the session; changes need the session and its CSRF token. Without an
/// admin token in the environment none of it exists (404).
struct AdminController: Sendable {
    typealias Context = AppRequestContext
    let guardian: AdminGuard
    let keys: any KeyRepository
    let usage: any UsageRepository
    let bot: (any BotStore)?
    let policies: TierPolicies
    let clock: WallClock

    static let maxBodyBytes = 16 * 1024

    func addRoutes(to router: Router<Context>) {
        let api = router.group("/admin/api")
        api.post("/login") { request, context in
            var request = request
            try AdminGuard.requireJSON(request)
            let body = try await Self.body(&request)
            let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
            let session = try guardian.signIn(token: try body.string("token") ?? "", from: address)
            var response = Response.json(Self.sessionJSON(session))
            response.setCookie(AdminGuard.cookie(session, request: request, now: clock.now()))
            return response
        }
        // Signed out is an answer here, not an error: the page asks this first, every time.
        api.get("/session") { request, _ in
            guard let session = try? guardian.session(request) else { return Response.json(["signed_in": false]) }
            return Response.json(Self.sessionJSON(session))
        }
        api.post("/logout") { request, _ in
            _ = try guardian.change(request)
            var response = Response.json(["signed_out": true])
            response.setCookie(AdminGuard.cookie(nil, request: request, now: clock.now()))
            return response
        }
        api.get("/keys") { request, _ in
            _ = try guardian.session(request)
            return try await listKeys(query: request.uri.queryParameters["q"].map(String.init) ?? "")
        }
        api.post("/keys") { request, _ in
            var request = request
            _ = try guardian.change(request)
            return try await createKey(try await Self.body(&request))
        }
        api.post("/keys/{id}/{action}") { request, context in
            var request = request
            _ = try guardian.change(request)
            let body = try await Self.body(&request)
            return try await change(id: context.parameters.get("id") ?? "", action: context.parameters.get("action") ?? "",
                                    body: body)
        }
        api.get("/usage") { request, _ in
            _ = try guardian.session(request)
            return try await usageReport(days: try KeyAccountController.queryInt(
                request, "days", in: KeyAccountController.daysRange, default: 30))
        }
        api.get("/telegram") { request, _ in
            _ = try guardian.session(request)
            return try await telegram()
        }
    }

    private static func sessionJSON(_ session: AdminSessions.Session) -> JSONValue {
        ["signed_in": true, "csrf_token": .string(session.csrfToken), "expires_at": UsageJSON.date(session.expires)]
    }

    private func listKeys(query: String) async throws -> Response {
        let now = clock.now()
        let needle = query.trimmingCharacters(in: .whitespaces).lowercased()
        let matching = try await keys.list().filter { key in
            needle.isEmpty || String(key.id) == needle || key.prefix.lowercased().contains(needle)
                || (key.label?.lowercased().contains(needle) ?? false)
        }
        return .json(["data": .array(matching.suffix(500).reversed().map { UsageJSON.key($0, now: now, policies: policies) })])
    }

    private func createKey(_ body: ParameterReader) async throws -> Response {
        let tier = try Self.tier(body)
        let until = try Self.until(body)
        let label = try body.string("label").flatMap { $0.isEmpty ? nil : $0 }
        if let label, label.count > 200 { throw APIError.invalidParameter("label", "'label' may be 200 characters at most.") }
        let minted = try await keys.create(tier: tier, tierUntil: until, label: label, now: clock.now())
        return .json(["key": .string(minted.plainText), "record": UsageJSON.key(minted.record, now: clock.now(), policies: policies)],
                     status: .created)
    }

    private func change(id text: String, action: String, body: ParameterReader) async throws -> Response {
        // A number names a key by its id (revoked ones too), never by prefix or text.
        guard let id = Int64(text), try await keys.resolve(String(id)) != nil else {
            throw APIError(status: .notFound, message: "No key with id '\(text)'.", type: "invalid_request_error",
                           code: "key_not_found")
        }
        switch action {
        case "revoke": try await keys.revoke(id: id, now: clock.now())
        case "deactivate":
            let reason = try body.string("reason").flatMap { $0.isEmpty ? nil : $0 } ?? "deactivated by the operator."
            try await keys.setActive(id: id, active: false, reason: reason)
        case "activate": try await keys.setActive(id: id, active: true, reason: nil)
        case "tier": try await keys.setTier(id: id, tier: try Self.tier(body), until: try Self.until(body))
        default: throw APIError.notFound("/admin/api/keys/\(text)/\(action)")
        }
        let updated = try await keys.resolve(String(id))
        return .json(updated.map { UsageJSON.key($0, now: clock.now(), policies: policies) } ?? .null)
    }

    /// Requests per key (totals) and per model (per day) over the last `days` days.
    private func usageReport(days: Int) async throws -> Response {
        let (since, today) = UsageJSON.window(days: days, now: clock.now())
        let rows = try await usage.daily(keyID: nil, since: since)
        let keysByID = Dictionary(try await keys.list().map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
        let byKey = Dictionary(grouping: rows, by: \.keyID).sorted { $0.key < $1.key }.map { id, rows -> JSONValue in
            var entry = UsageJSON.perCategory(rows)
            entry["key_id"] = .integer(id)
            entry["prefix"] = .string(keysByID[id]?.prefix ?? "")
            entry["label"] = keysByID[id]?.label.map(JSONValue.string) ?? .null
            entry["totals"] = UsageJSON.totals(rows)
            entry["days"] = UsageJSON.days(rows, since: since, today: today)
            return .object(entry)
        }
        let byModel = Dictionary(grouping: rows, by: \.model).sorted { $0.key < $1.key }.map { model, rows -> JSONValue in
            ["model": .string(model), "totals": UsageJSON.totals(rows),
             "days": UsageJSON.days(rows, since: since, today: today)]
        }
        return .json(["since": .string(UsageJSON.day(since)), "by_key": .array(byKey), "by_model": .array(byModel)])
    }

    private func telegram() async throws -> Response {
        guard let bot else { return .json(["configured": false, "accounts": [], "payments": []]) }
        let accounts = try await bot.accountsWithKeys().map { account -> JSONValue in
            ["user_id": .integer(account.userID), "key_id": account.keyID.map(JSONValue.integer) ?? .null,
             "banned": .bool(account.isBanned), "left_channel": .bool(account.leftChannel),
             "trial_claimed_at": UsageJSON.date(account.trialClaimedAt)]
        }
        let payments = try await bot.recentPayments(limit: 200).map { payment -> JSONValue in
            ["charge_id": .string(payment.chargeID), "user_id": .integer(payment.userID),
             "tier": .string(payment.tier.rawValue), "stars": .integer(Int64(payment.stars)),
             "days": .integer(Int64(payment.days)), "paid_at": UsageJSON.date(payment.paidAt),
             "refunded_at": UsageJSON.date(payment.refundedAt)]
        }
        return .json(["configured": true, "accounts": .array(accounts), "payments": .array(payments)])
    }

    private static func tier(_ body: ParameterReader) throws(APIError) -> Tier {
        let name = try body.string("tier") ?? "free"
        guard let tier = Tier(rawValue: name) else {
            throw APIError.invalidParameter("tier", "'tier' must be free, tier1 or tier2, got '\(name)'.")
        }
        return tier
    }

    private static func until(_ body: ParameterReader) throws(APIError) -> Date? {
        guard let text = try body.string("until"), !text.isEmpty else { return nil }
        guard let date = DateText.parse(text) else {
            throw APIError.invalidParameter("until", "'until' must be a date (YYYY-MM-DD or ISO 8601), got '\(text)'.")
        }
        return date
    }

    private static func body(_ request: inout Request) async throws -> ParameterReader {
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: maxBodyBytes)
        } catch {
            throw APIError.bodyTooLarge(limit: maxBodyBytes)
        }
        if buffer.readableBytes == 0 { return try ParameterReader(body: [:]) }
        guard let json = try? JSONValue.parse(buffer.readableBytesView) else {
            throw APIError.invalidJSON("it could not be parsed.")
        }
        return try ParameterReader(body: json)
    }
}
