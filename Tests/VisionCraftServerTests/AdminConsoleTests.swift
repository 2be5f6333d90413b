import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// The operator console's API in process: every change through the session and its CSRF token,
/// the keys' states as the API then sees them, usage per key and model, the bot's accounts and
/// payments. (The browser drives the same API in Tests/web.)
@Suite struct AdminConsoleTests {
    static let token = "console-token-for-tests-0123"

    struct Session {
        let cookie: String
        let csrf: String
        var headers: HTTPFields {
            [.cookie: cookie, HTTPField.Name("X-CSRF-Token")!: csrf, .contentType: "application/json"]
        }
    }

    static func signIn(_ client: any TestClientProtocol) async throws -> Session {
        let response = try await client.post("/admin/api/login", json: #"{"token": "\#(token)"}"#)
        #expect(response.status == .ok)
        let cookie = try #require(response.headers[.setCookie]?.split(separator: ";").first.map(String.init))
        return Session(cookie: cookie, csrf: try #require(response.json["csrf_token"].string))
    }

    @Test func keysAreCreatedChangedAndRevokedThroughTheSession() async throws {
        let environment = try await TestEnvironment.make(environment: ["VISIONCRAFT_ADMIN_TOKEN": Self.token])
        try await environment.test { client in
            let session = try await Self.signIn(client)
            #expect(try await client.get("/admin/api/session").json["signed_in"].exists)
            let created = try await client.execute(uri: "/admin/api/keys", method: .post, headers: session.headers,
                                                   body: ByteBuffer(string: #"{"label": "ann", "tier": "tier1", "until": "2099-01-31"}"#))
            #expect(created.status == .created)
            let key = try #require(created.json["key"].string)
            let id = try #require(created.json["record"]["id"].int)
            #expect(created.json["record"]["tier_until"].string == "2099-01-31T00:00:00Z")
            func me() async throws -> TestResponse {
                try await client.execute(uri: "/v1/me", method: .get, headers: [.authorization: "Bearer \(key)"])
            }
            #expect(try await me().json["key"]["tier_name"].string == "Tier 1")

            func change(_ action: String, _ body: String = "{}") async throws -> TestResponse {
                try await client.execute(uri: "/admin/api/keys/\(id)/\(action)", method: .post, headers: session.headers,
                                         body: ByteBuffer(string: body))
            }
            #expect(try await change("deactivate", #"{"reason": "spam."}"#).json["active"].isNull == false)
            let refused = try await me()
            #expect(refused.status == .forbidden && refused.errorMessage.contains("spam."))
            #expect(try await change("activate").status == .ok)
            #expect(try await change("tier", #"{"tier": "tier2"}"#).json["tier"].string == "tier2")
            #expect(try await me().json["key"]["tier_name"].string == "Tier 2")
            #expect(try await change("tier", #"{"tier": "gold"}"#).errorParam == "tier")
            #expect(try await change("tier", #"{"tier": "free", "until": "soon"}"#).errorParam == "until")
            #expect(try await change("fly").status == .notFound)
            let found = try await client.execute(uri: "/admin/api/keys?q=ann", method: .get, headers: [.cookie: session.cookie])
            #expect(found.json["data"].array?.map { $0["id"].int } == [id])
            #expect(try await change("revoke").json["revoked_at"].string != nil)
            #expect(try await me().status == .unauthorized)
            let missing = try await client.execute(uri: "/admin/api/keys/999/revoke", method: .post, headers: session.headers,
                                                   body: ByteBuffer(string: "{}"))
            #expect(missing.status == .notFound)
        }
    }

    @Test func changesNeedTheCSRFTokenAndJSONAndReadsNeedTheSession() async throws {
        let environment = try await TestEnvironment.make(environment: ["VISIONCRAFT_ADMIN_TOKEN": Self.token])
        let (apiKey, _) = try await environment.mintKey(.tier2)
        try await environment.test { client in
            let session = try await Self.signIn(client)
            var headers = session.headers
            headers[HTTPField.Name("X-CSRF-Token")!] = String(session.csrf.reversed())
            #expect(try await client.execute(uri: "/admin/api/keys", method: .post, headers: headers,
                                             body: ByteBuffer(string: "{}")).status == .forbidden)
            headers = session.headers
            headers[.contentType] = "text/plain"
            #expect(try await client.execute(uri: "/admin/api/keys", method: .post, headers: headers,
                                             body: ByteBuffer(string: "{}")).status == .unsupportedMediaType)
            for path in ["/admin/api/keys", "/admin/api/usage", "/admin/api/telegram"] {
                #expect(try await client.get(path).status == .unauthorized)
                #expect(try await client.execute(uri: path, method: .get, headers: [.authorization: "Bearer \(apiKey)"]).status
                    == .unauthorized)
            }
            #expect(try await client.post("/admin/api/login", json: #"{"token": "wrong"}"#).status == .unauthorized)
            #expect(try await client.execute(uri: "/admin/api/logout", method: .post, headers: session.headers,
                                             body: ByteBuffer(string: "{}")).headers[.setCookie]?.contains("Max-Age=0") == true)
        }
    }

    @Test func withoutAnAdminTokenTheConsoleAPIDoesNotExist() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.test { client async throws -> Void in
            #expect(try await client.post("/admin/api/login", json: #"{"token": "anything"}"#).status == .notFound)
            #expect(try await client.get("/admin/api/session").status == .notFound)
        }
    }

    @Test func usagePerKeyAndModelAndTheBotsAccountsAndPayments() async throws {
        let environment = try await TestEnvironment.make(environment: ["VISIONCRAFT_ADMIN_TOKEN": Self.token], botStore: true)
        let (_, first) = try await environment.mintKey(.free)
        let (_, second) = try await environment.mintKey(.tier1)
        let now = environment.clock.wallClock.now()
        func record(_ key: APIKeyRecord, _ model: String, _ category: UsageCategory, days: Double = 0) -> UsageRecord {
            UsageRecord(keyID: key.id, category: category, model: model, promptTokens: 1, completionTokens: 2, status: 200,
                        durationMilliseconds: 3, createdAt: now - days * 86_400, countsTowardQuota: true)
        }
        try await environment.services.usageRepository.insert([
            record(first, "smol", .chat), record(first, "smol", .chat, days: 2), record(second, "sd", .image),
            record(second, "smol", .chat, days: 40),
        ])
        let store = SQLiteBotStore(database: environment.database)
        _ = try await store.transaction { tx in
            try tx.save(TelegramAccount(userID: 42, chatID: 42, keyID: second.id))
            return try tx.record(StarsPayment(chargeID: "charge-1", userID: 42, tier: .tier1, stars: 250, days: 30,
                                              paidAt: now, refundedAt: nil))
        }
        try await environment.test { client in
            let session = try await Self.signIn(client)
            let usage = try await client.execute(uri: "/admin/api/usage?days=30", method: .get, headers: [.cookie: session.cookie]).json
            #expect(usage["by_key"].array?.map { $0["totals"]["requests"].int } == [2, 1])
            #expect(usage["by_key"][0]["chat"]["requests"].int == 2 && usage["by_key"][1]["image"]["requests"].int == 1)
            #expect(usage["by_key"][0]["days"].array?.suffix(3).map { $0["chat"]["requests"].int } == [1, 0, 1])
            #expect(usage["by_model"].array?.map { $0["model"].string } == ["sd", "smol"])
            #expect(usage["by_model"][1]["days"].array?.count == 30)
            #expect(usage["by_model"][1]["days"].array?.last?["chat"]["requests"].int == 1)
            let telegram = try await client.execute(uri: "/admin/api/telegram", method: .get, headers: [.cookie: session.cookie]).json
            #expect(telegram["accounts"][0]["user_id"].int == 42 && telegram["accounts"][0]["key_id"].int == Int(second.id))
            #expect(telegram["payments"][0]["charge_id"].string == "charge-1" && telegram["payments"][0]["stars"].int == 250)
        }
    }
}
