import Foundation
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

@Suite struct KeyAuthenticationTests {
    let chat = body(["model": "unknown-model", "messages": hello])

    @Test func requestsWithoutAKeyAre401() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.test { client in
            for path in ["/v1/chat/completions", "/sd", "/text2gif"] {
                let response = try await client.post(path, json: #"{"prompt":"x"}"#)
                #expect(response.status == .unauthorized, "\(path)")
                #expect(response.json["error"]["code"].string == "missing_api_key")
            }
        }
    }

    @Test func unknownKeysAre401AndNotEchoed() async throws {
        let environment = try await TestEnvironment.make()
        let guess = "vc_" + String(repeating: "A", count: 32)
        try await environment.test { client in
            let response = try await client.post("/v1/chat/completions", json: chat, key: guess)
            #expect(response.status == .unauthorized)
            #expect(response.json["error"]["code"].string == "invalid_api_key")
            #expect(!response.body.string.contains(guess))
        }
    }

    @Test func theKeyIsAcceptedAsBearerHeaderAndAsTokenField() async throws {
        let environment = try await TestEnvironment.make()
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.test { client in
            // Past authentication, the unknown model is the next thing refused.
            let header = try await client.post("/v1/chat/completions", json: chat, key: key)
            #expect(header.status == .badRequest)
            #expect(header.errorParam == "model")
            let field = try await client.post(
                "/v1/chat/completions", json: body(["model": "unknown-model", "messages": hello, "token": key]))
            #expect(field.status == .badRequest)
            #expect(field.errorParam == "model")
        }
    }

    @Test func deactivatedKeysAre403WithTheReasonAndComeBackWhenReactivated() async throws {
        let environment = try await TestEnvironment.make()
        let (key, record) = try await environment.mintKey()
        try await environment.services.keys.setActive(
            id: record.id, active: false, reason: "its owner left the Telegram channel.")
        try await environment.test { client in
            let refused = try await client.post("/v1/chat/completions", json: chat, key: key)
            #expect(refused.status == .forbidden)
            #expect(refused.errorMessage.contains("left the Telegram channel"))
            try await environment.services.keys.setActive(id: record.id, active: true, reason: nil)
            let back = try await client.post("/v1/chat/completions", json: chat, key: key)
            #expect(back.status == .badRequest)
        }
    }

    @Test func revokedKeysAre401() async throws {
        let environment = try await TestEnvironment.make()
        let (key, record) = try await environment.mintKey()
        try await environment.services.keys.revoke(id: record.id, now: environment.clock.wallClock.now())
        try await environment.test { client in
            let response = try await client.post("/v1/chat/completions", json: chat, key: key)
            #expect(response.status == .unauthorized)
        }
    }

    @Test func keysAreRandomLongAndStoredOnlyAsHashes() async throws {
        let environment = try await TestEnvironment.make()
        var seen = Set<String>()
        for _ in 0..<20 {
            let (key, record) = try await environment.mintKey()
            #expect(key.hasPrefix("vc_"))
            #expect(key.count == 3 + 32, "24 random bytes in base64url")
            #expect(seen.insert(key).inserted)
            #expect(key.hasPrefix(record.prefix))
        }
        let stored = try await environment.database.writer.read { db in
            try String.fetchAll(db, sql: "SELECT key_hash || ' ' || key_prefix || ' ' || COALESCE(label, '') FROM api_keys")
        }
        for key in seen {
            #expect(!stored.joined(separator: "\n").contains(key))
        }
    }

    @Test func aTierWithAnEndDateFallsBackToFreeWhenItEnds() async throws {
        let environment = try await TestEnvironment.make()
        let now = environment.clock.wallClock.now()
        let (_, record) = try await environment.mintKey(.tier1, until: now.addingTimeInterval(3600))
        #expect(record.effectiveTier(at: now) == .tier1)
        #expect(record.effectiveTier(at: now.addingTimeInterval(3600)) == .free)
        // Tier 1 allows 5 chat requests a second; once it has ended, Free allows one.
        for _ in 0..<5 {
            try await environment.services.admission.admit(record, category: .chat).release()
        }
        environment.clock.advance(by: 3601)
        let permit = try await environment.services.admission.admit(record, category: .chat)
        permit.release()
        await #expect(throws: APIError.self) { try await environment.services.admission.admit(record, category: .chat) }
    }
}
