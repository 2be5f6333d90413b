import Foundation
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// Limits as a client meets them over HTTP.
@Suite struct LimitEnforcementTests {
    @Test func overTheRateIs429WithRetryAfter() async throws {
        try await withChatUpstream { upstream, environment, key in
            try await environment.test { client in
                let chat = body(["model": "test-model", "messages": hello])
                #expect(try await client.post("/v1/chat/completions", json: chat, key: key).status == .ok)
                let limited = try await client.post("/v1/chat/completions", json: chat, key: key)
                #expect(limited.status == .tooManyRequests)
                #expect(limited.headers[.retryAfter] == "1")
                #expect(limited.errorMessage.hasPrefix("Free tier keys can make 1 request per 1 second"))
                environment.clock.advance(by: 1)
                #expect(try await client.post("/v1/chat/completions", json: chat, key: key).status == .ok)
            }
            #expect(upstream.requests.count == 2, "a limited request never reaches the backend")
            let records = try await environment.usageRecords()
            #expect(records.map(\.status) == [200, 429, 200])
            #expect(records.map(\.countsTowardQuota) == [true, false, true])
        }
    }

    @Test func overTheDailyQuotaIs403UntilTheNextDay() async throws {
        let tiers = TierPolicies.defaults.with { $0.free.image = CategoryLimits(rate: nil, perDay: 2) }
        let upstream = A1111UpstreamDouble()
        try await upstream.run { url in
            let environment = try await TestEnvironment.make(configuration: .upstreams(a1111: url, tiers: tiers))
            let (key, _) = try await environment.mintKey()
            try await environment.test { client in
                let image = body(["model": "sdxl-base", "prompt": "a lake", "width": 64, "height": 64])
                #expect(try await client.post("/sd", json: image, key: key).status == .ok)
                #expect(try await client.post("/sd", json: image, key: key).status == .ok)
                let refused = try await client.post("/sd", json: image, key: key)
                #expect(refused.status == .forbidden)
                #expect(refused.errorMessage.contains("daily quota of 2 image requests"))
                #expect(try await client.get("/limits").json["Free"]["image"].string == "2 per day")
                environment.clock.advance(by: 86_400)
                #expect(try await client.post("/sd", json: image, key: key).status == .ok)
            }
        }
    }

    @Test func spentQuotaSurvivesARestart() async throws {
        let tiers = TierPolicies.defaults.with { $0.free.chat = CategoryLimits(rate: nil, perDay: 2) }
        let upstream = OpenAIUpstreamDouble()
        try await upstream.run { url in
            let database = try SQLiteDatabase.inMemory()
            let clock = ManualClock()
            let first = try await TestEnvironment.make(
                configuration: .upstreams(chat: [url], tiers: tiers), database: database, clock: clock)
            let (key, _) = try await first.mintKey()
            let chat = body(["model": "test-model", "messages": hello])
            try await first.test { client async throws -> Void in
                #expect(try await client.post("/v1/chat/completions", json: chat, key: key).status == .ok)
                #expect(try await client.post("/v1/chat/completions", json: chat, key: key).status == .ok)
            }
            try await first.services.usage.flush()
            let restarted = try await TestEnvironment.make(
                configuration: .upstreams(chat: [url], tiers: tiers), database: database, clock: clock)
            try await restarted.test { client async throws -> Void in
                #expect(try await client.post("/v1/chat/completions", json: chat, key: key).status == .forbidden)
            }
        }
    }

    @Test func limitsAreCheckedBeforeAnyBackendWork() async throws {
        try await withImageUpstream { upstream, environment, key in
            try await environment.test { client in
                let gif = body(["prompt": "a cat"])
                #expect(try await client.post("/text2gif", json: gif, key: key).status == .ok)
                let limited = try await client.post("/text2gif", json: gif, key: key)
                #expect(limited.status == .tooManyRequests)
                #expect(limited.headers[.retryAfter] == "30")
                #expect(limited.errorMessage == "Free tier keys can make 1 request per 30 seconds for gif.")
            }
            #expect(upstream.txt2imgBodies.count == 1)
        }
    }
}

extension TierPolicies {
    func with(_ change: (inout TierPolicies) -> Void) -> TierPolicies {
        var copy = self
        change(&copy)
        return copy
    }
}
