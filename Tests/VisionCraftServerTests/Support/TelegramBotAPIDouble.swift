import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat

/// A stand-in for Telegram's Bot API on a real loopback socket: `/bot<token>/<method>` with
/// Telegram's JSON shapes for the methods the bot uses. Updates are scripted and served through
/// `getUpdates` by offset (kept after they are confirmed, so a bot that forgot its offset would
/// see them again); every call is recorded; it can be told to fail for a while.
final class TelegramBotAPIDouble: Sendable {
    static let token = "123456:test-token"
    static let channel = "@vc_channel"
    static let channelID: Int64 = -1001234567890

    struct Call: @unchecked Sendable {
        var method: String
        var parameters: [String: Any]
        /// Answered with one of the failures it was told to give, so not done.
        var failed = false
    }

    private struct State: @unchecked Sendable {
        var updates: [[String: Any]] = []
        var nextUpdateID = 100
        var members: [Int64: String] = [:]
        var calls: [Call] = []
        var failures: [(status: Int, retryAfter: Int?, method: String?)] = []
        var unauthorizedCalls = 0
    }

    private let state = NIOLockedValueBox(State())

    var calls: [Call] { state.withLockedValue { $0.calls } }
    /// Calls made with a token that is not the bot's, refused with Telegram's 401.
    var unauthorizedCalls: Int { state.withLockedValue { $0.unauthorizedCalls } }

    func calls(_ method: String) -> [Call] { calls.filter { $0.method == method } }

    /// Texts the bot sent to one chat (and Telegram accepted), oldest first.
    func messages(to chatID: Int64) -> [String] {
        calls("sendMessage").filter { !$0.failed && ($0.parameters["chat_id"] as? NSNumber)?.int64Value == chatID }
            .compactMap { $0.parameters["text"] as? String }
    }

    /// The next `count` calls (of `method`, or of any) answer `status` (500, or 429 with `retryAfter`).
    func fail(next count: Int, status: Int, retryAfter: Int? = nil, method: String? = nil) {
        state.withLockedValue { $0.failures += Array(repeating: (status, retryAfter, method), count: count) }
    }

    // MARK: Scripting what users do

    private func enqueue(_ update: [String: Any]) {
        state.withLockedValue { state in
            var update = update
            update["update_id"] = state.nextUpdateID
            state.nextUpdateID += 1
            state.updates.append(update)
        }
    }

    func enqueueRaw(_ update: [String: Any]) { enqueue(update) }

    private func user(_ id: Int64) -> [String: Any] { ["id": id, "is_bot": false, "first_name": "User \(id)"] }

    func send(_ text: String, from userID: Int64) {
        enqueue(["message": [
            "message_id": Int.random(in: 1...1_000_000), "date": 1_767_225_600, "text": text, "from": user(userID),
            "chat": ["id": userID, "type": "private"],
        ]])
    }

    func join(_ userID: Int64) { setMembership(userID, "member") }
    func leave(_ userID: Int64) { setMembership(userID, "left") }

    /// Membership changes silently, as when the bot missed the update.
    func setMemberQuietly(_ userID: Int64, _ status: String) {
        state.withLockedValue { $0.members[userID] = status }
    }

    private func setMembership(_ userID: Int64, _ status: String) {
        let old = state.withLockedValue { state in
            defer { state.members[userID] = status }
            return state.members[userID] ?? "left"
        }
        enqueue(["chat_member": [
            "chat": ["id": Self.channelID, "type": "channel", "username": String(Self.channel.dropFirst())],
            "from": user(userID), "date": 1_767_225_600,
            "old_chat_member": ["status": old, "user": user(userID)],
            "new_chat_member": ["status": status, "user": user(userID)],
        ]])
    }

    func preCheckout(id: String, from userID: Int64, payload: String, amount: Int, currency: String = "XTR") {
        enqueue(["pre_checkout_query": [
            "id": id, "from": user(userID), "currency": currency, "total_amount": amount, "invoice_payload": payload,
        ]])
    }

    func pay(chargeID: String, from userID: Int64, payload: String, amount: Int) {
        enqueue(["message": [
            "message_id": Int.random(in: 1...1_000_000), "date": 1_767_225_600, "from": user(userID),
            "chat": ["id": userID, "type": "private"],
            "successful_payment": [
                "currency": "XTR", "total_amount": amount, "invoice_payload": payload,
                "telegram_payment_charge_id": chargeID, "provider_payment_charge_id": "",
            ],
        ]])
    }

    // MARK: The server

    func run<Value: Sendable>(_ body: @Sendable (String) async throws -> Value) async throws -> Value {
        try await serveRoutes({ self.router() }, body)
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.post("/:bot/:method") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            let parameters = (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            let method = context.parameters.get("method") ?? ""
            guard context.parameters.get("bot") == "bot\(Self.token)" else {
                self.state.withLockedValue { $0.unauthorizedCalls += 1 }
                return Self.reply(401, ["ok": false, "error_code": 401, "description": "Unauthorized"])
            }
            let failure = self.state.withLockedValue { state -> (status: Int, retryAfter: Int?, method: String?)? in
                let index = state.failures.firstIndex { $0.method == nil || $0.method == method }
                state.calls.append(Call(method: method, parameters: parameters, failed: index != nil))
                return index.map { state.failures.remove(at: $0) }
            }
            if let failure {
                if failure.status == 429 {
                    return Self.reply(429, ["ok": false, "error_code": 429, "description": "Too Many Requests: retry after \(failure.retryAfter ?? 1)",
                                            "parameters": ["retry_after": failure.retryAfter ?? 1]])
                }
                return Self.reply(failure.status, ["ok": false, "error_code": failure.status, "description": "Internal Server Error"])
            }
            return try await self.answer(method, parameters)
        }
        return router
    }

    private func answer(_ method: String, _ parameters: [String: Any]) async throws -> Response {
        switch method {
        case "getUpdates":
            let offset = (parameters["offset"] as? NSNumber)?.intValue ?? 0
            let timeout = min((parameters["timeout"] as? NSNumber)?.doubleValue ?? 0, 0.5)
            let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
            while true {
                let ready = state.withLockedValue { $0.updates.filter { ($0["update_id"] as! Int) >= offset } }
                if !ready.isEmpty || ContinuousClock.now >= deadline { return Self.result(ready) }
                try await Task.sleep(for: .milliseconds(20))
            }
        case "getChatMember":
            let userID = (parameters["user_id"] as? NSNumber)?.int64Value ?? 0
            guard parameters["chat_id"] as? String == Self.channel else {
                return Self.reply(400, ["ok": false, "error_code": 400, "description": "Bad Request: chat not found"])
            }
            let status = state.withLockedValue { $0.members[userID] } ?? "left"
            return Self.result(["status": status, "user": user(userID)])
        case "sendMessage", "sendInvoice":
            return Self.result(["message_id": Int.random(in: 1...1_000_000), "date": 1_767_225_600,
                                "chat": ["id": parameters["chat_id"] ?? 0, "type": "private"]])
        case "getMe":
            return Self.result(["id": 123456, "is_bot": true, "first_name": "VisionCraft", "username": "vc_test_bot"])
        case "answerPreCheckoutQuery", "refundStarPayment", "setWebhook", "deleteWebhook", "setMyCommands":
            return Self.result(true)
        default:
            return Self.reply(404, ["ok": false, "error_code": 404, "description": "Not Found: method not found"])
        }
    }

    private static func result(_ value: Any) -> Response { reply(200, ["ok": true, "result": value]) }

    private static func reply(_ status: Int, _ json: [String: Any]) -> Response {
        let data = try! JSONSerialization.data(withJSONObject: json)
        return Response(status: .init(code: status), headers: [.contentType: "application/json"],
                        body: .init(byteBuffer: ByteBuffer(data: data)))
    }
}
