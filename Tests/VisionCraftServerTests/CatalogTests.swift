import Foundation
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

@Suite struct CatalogTests {
    @Test func chatModelListsShowConfiguredModels() async throws {
        let upstream = OpenAIUpstreamDouble()
        try await upstream.run { url in
            let environment = try await TestEnvironment.make(configuration: .upstreams(chat: [url]))
            try await environment.test { client in
                #expect(try await client.get("/models-llm").json.strings == ["test-model", "test-vision"])
                let list = try await client.get("/v1/models").json
                #expect(list["object"].string == "list")
                #expect(list["data"].array?.compactMap { $0["id"].string } == ["test-model", "test-vision"])
                #expect(list["data"][0]["object"].string == "model")
                #expect(try await client.get("/v1/models/test-vision").json["id"].string == "test-vision")
                #expect(try await client.get("/v1/models/nope").status == .notFound)
            }
        }
    }

    @Test func backendsWithoutTheirKeyAreLeftOutAndTheKeyIsSentWhenSet() async throws {
        let upstream = OpenAIUpstreamDouble()
        try await upstream.run { url in
            let configuration = ServerConfiguration(chatModels: [
                .init(name: "keyed", backends: [.init(kind: "openai", baseUrl: url, model: "m", apiKeyEnv: "UPSTREAM_KEY")]),
            ])
            let dark = try await TestEnvironment.make(configuration: configuration)
            try await dark.test { client async throws -> Void in
                #expect(try await client.get("/models-llm").json.strings == [])
            }
            let lit = try await TestEnvironment.make(configuration: configuration, environment: ["UPSTREAM_KEY": "sk-upstream"])
            let (key, _) = try await lit.mintKey()
            try await lit.test { client in
                #expect(try await client.get("/models-llm").json.strings == ["keyed"])
                let response = try await client.post("/v1/chat/completions", json: body(["model": "keyed", "messages": hello]), key: key)
                #expect(response.status == .ok)
                #expect(!response.body.string.contains("sk-upstream"))
            }
            #expect(upstream.authorizations == ["Bearer sk-upstream"])
        }
    }

    @Test func theShippedExampleConfigurationMapsTheCatalogueToDeepInfra() async throws {
        let path = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("config/visioncraft.example.json").path
        let configuration = try ServerConfiguration.load(path: path)
        let models = try #require(configuration.chatModels)
        #expect(models.count == 31)
        #expect(models.allSatisfy { $0.backends.first?.apiKeyEnv == "DEEPINFRA_API_KEY" })
        #expect(models.filter { $0.vision == true }.map(\.name) == ["llava-1.5-7b-hf"])
        let dark = try await TestEnvironment.make(configuration: configuration)
        #expect(dark.services.registry.servableChatModels.isEmpty)
        let lit = try await TestEnvironment.make(configuration: configuration, environment: ["DEEPINFRA_API_KEY": "x"])
        #expect(lit.services.registry.servableChatModels.count == 31)
    }

    @Test func limitsHealthAndMetricsAreOpen() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.test { client in
            let limits = try await client.get("/limits").json
            #expect(limits["Free"]["chat"].string == "1 request per 1 second, 200 per day")
            #expect(limits["Free"]["image"].string == "1 request per 10 seconds, 20 per day")
            #expect(limits["Free"]["gif"].string == "1 request per 30 seconds, 5 per day")
            #expect(limits["Tier 1"]["chat"].string == "5 requests per 1 second, 5000 per day")
            #expect(limits["Tier 2"]["chat"].string == "unlimited")
            #expect(try await client.get("/health").json["status"].string == "ok")
            _ = try await client.post("/v1/chat/completions", json: "{}")
            let metrics = try await client.get("/metrics").body.string
            #expect(metrics.contains(#"visioncraft_http_requests_total{method="POST",route="/v1/chat/completions",status="401"} 1"#))
            #expect(metrics.contains("visioncraft_http_request_duration_seconds_bucket"))
        }
    }

    @Test func metricsCountTokensRejectionsAndBackendErrors() async throws {
        try await withChatUpstream { upstream, environment, key in
            try await environment.test { client in
                let chat = body(["model": "test-model", "messages": hello])
                _ = try await client.post("/v1/chat/completions", json: chat, key: key)
                _ = try await client.post("/v1/chat/completions", json: chat, key: key)
                environment.clock.advance(by: 1)
                _ = try await client.post("/v1/chat/completions",
                                          json: body(["model": "test-model", "messages": [["role": "user", "content": "fail"]]]), key: key)
                let metrics = try await client.get("/metrics").body.string
                #expect(metrics.contains(#"visioncraft_tokens_total{model="test-model",kind="completion"} 3"#))
                #expect(metrics.contains(#"visioncraft_limit_rejections_total{category="chat",reason="rate"} 1"#))
                #expect(metrics.contains(#"visioncraft_backend_errors_total{model="test-model",kind="failed"} 1"#))
            }
        }
    }
}
