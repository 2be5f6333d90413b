import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// The document at `/openapi.json` against the router itself, the key's own endpoints, the pages'
/// headers and 405s. Browsers and schemathesis check the rest (Tests/web, run by `make test`).
@Suite struct WebPagesTests {
    /// Paths that are not the public API: the pages, their files, the console's own API.
    static func isPublicAPI(_ path: String) -> Bool {
        !["/docs", "/playground", "/me", "/admin", "/"].contains(path) && !path.hasPrefix("/assets")
            && !path.hasPrefix("/admin/")
    }

    @Test func theDocumentDescribesEveryPublicRouteAndNothingElse() async throws {
        let environment = try await TestEnvironment.make(environment: ["VISIONCRAFT_ADMIN_TOKEN": String(repeating: "t", count: 20)])
        let router = buildRouter(services: environment.services)
        var routed = Set<String>()
        for route in router.routes where Self.isPublicAPI(route.path.description) && route.method != .head {
            routed.insert("\(route.method.rawValue.lowercased()) \(route.path.description)")
        }
        let document = OpenAPIDocument.make(policies: .defaults)
        var described = Set<String>()
        for (path, item) in document["paths"]?.objectValue ?? [:] {
            for method in item.objectValue?.keys ?? [:].keys { described.insert("\(method) \(path)") }
        }
        #expect(routed == described)
    }

    @Test func theDocumentsRangesAreTheOnesEnforced() throws {
        let document = OpenAPIDocument.make(policies: .defaults)
        let chat = try #require(document["components"]?["schemas"]?["ChatCompletionRequest"]?["properties"])
        func range(_ schema: JSONValue?) -> String {
            "\(schema?["minimum"]?.doubleValue ?? .nan)...\(schema?["maximum"]?.doubleValue ?? .nan)"
        }
        #expect(range(chat["max_tokens"]) == "\(Double(ChatCompletionRequest.maxTokensRange.lowerBound))...\(Double(ChatCompletionRequest.maxTokensRange.upperBound))")
        #expect(range(chat["temperature"]) == "\(ChatCompletionRequest.temperatureRange.lowerBound)...\(ChatCompletionRequest.temperatureRange.upperBound)")
        #expect(range(chat["repetition_penalty"]) == "0.01...5.0")
        #expect(chat["max_tokens"]?["default"] == 512)
        let image = try #require(document["paths"]?["/sd"]?["post"]?["requestBody"]?["content"]?["application/json"]?["schema"]?["properties"])
        #expect(range(image["steps"]) == "1.0...35.0" && range(image["width"]) == "64.0...1024.0")
        #expect(image["loras"]?["maxProperties"] == .integer(Int64(ImageGenerationRequest.maxLoRAs)))
        let roles = chat["messages"].flatMap { _ in document["components"]?["schemas"]?["ChatMessage"]?["properties"]?["role"]?["enum"] }
        #expect(roles == .array(ChatMessage.roles.sorted().map(JSONValue.string)))
    }

    @Test func aKeySeesItsOwnUsageAndNoOneElses() async throws {
        let environment = try await TestEnvironment.make()
        let (key, record) = try await environment.mintKey(.tier1)
        let (otherKey, other) = try await environment.mintKey(.free)
        let now = environment.clock.wallClock.now()
        try await environment.services.usageRepository.insert([
            UsageRecord(keyID: record.id, category: .image, model: "sd", status: 200, durationMilliseconds: 5,
                        createdAt: now, countsTowardQuota: true),
            UsageRecord(keyID: other.id, category: .chat, model: "m", promptTokens: 4, completionTokens: 9, status: 200,
                        durationMilliseconds: 5, createdAt: now, countsTowardQuota: true),
        ])
        try await environment.test { client in
            let me = try await client.execute(uri: "/v1/me", method: .get, headers: [.authorization: "Bearer \(key)"]).json
            #expect(me["key"]["id"].int == Int(record.id) && me["key"]["tier_name"].string == "Tier 1")
            #expect(me["today"]["image"]["used"].int == 1 && me["today"]["image"]["per_day"].int == 500)
            #expect(me["today"]["chat"]["used"].int == 0)
            let usage = try await client.execute(uri: "/v1/me/usage?days=7", method: .get,
                                                 headers: [.authorization: "Bearer \(otherKey)"]).json
            #expect(usage["days"].array?.count == 7)
            #expect(usage["totals"]["chat"]["completion_tokens"].int == 9 && usage["totals"]["image"]["requests"].int == 0)
            let requests = try await client.execute(uri: "/v1/me/requests", method: .get,
                                                    headers: [.authorization: "Bearer \(key)"]).json
            #expect(requests["data"].array?.map { $0["model"].string } == ["sd"])
            #expect(try await client.get("/v1/me").status == .unauthorized)
            let wrong = try await client.execute(uri: "/v1/me/requests?limit=500", method: .get,
                                                 headers: [.authorization: "Bearer \(key)"])
            #expect(wrong.status == .badRequest && wrong.errorParam == "limit")
        }
    }

    @Test func pagesCarryAStrictPolicyAndAKnownPathAnswers405ToOtherMethods() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.live { server in
            let page = try await LiveClient.get("\(server)/playground")
            #expect(page.status == 200 && page.body.string.contains("<script type=\"module\" src=\"/assets/js/playground.js\">"))
            let script = try await LiveClient.get("\(server)/assets/js/common.js")
            #expect(script.status == 200 && script.body.string.contains("export function el"))
            #expect(try await LiveClient.get("\(server)/assets/../Package.swift").status == 404)
            #expect(try await LiveClient.get("\(server)/assets/js/missing.js").status == 404)
            let wrongMethod = try await LiveClient.post("\(server)/v1/models", json: "{}")
            #expect(wrongMethod.status == 405 && wrongMethod.headers["Allow"].first == "GET, HEAD")
            let wrongGet = try await LiveClient.get("\(server)/v1/chat/completions")
            #expect(wrongGet.status == 405)
            #expect(try await LiveClient.get("\(server)/no/such/path").status == 404)
        }
        #expect(WebController.contentSecurityPolicy.contains("script-src 'self'"))
        #expect(!WebController.contentSecurityPolicy.contains("unsafe"))
    }

    @Test func allowedMethodsMatchCapturesAndCatchAlls() {
        let router = Router(context: AppRequestContext.self)
        router.get("/v1/models/{id}") { _, _ in "" }
        router.post("/v1/chat/completions") { _, _ in "" }
        router.get("/assets/**") { _, _ in "" }
        let methods = AllowedMethods(router.routes)
        #expect(methods.allowed(path: "/v1/models/smol") == ["GET", "HEAD"])
        #expect(methods.allowed(path: "/v1/chat/completions") == ["POST"])
        #expect(methods.allowed(path: "/assets/js/me.js") == ["GET", "HEAD"])
        #expect(methods.allowed(path: "/v1/models") == nil)
        #expect(methods.allowed(path: "/v1/models/a/b") == nil)
    }
}

@Suite struct WebAssetsTests {
    @Test func everyPageIsRenderedFromItsTemplate() throws {
        let assets = WebAssets.bundled
        for page in WebController.pages.values {
            let html = try #require(assets[page].map { String(decoding: $0.bytes, as: UTF8.self) }, "\(page)")
            #expect(html.hasPrefix("<!doctype html>") && html.contains("<nav aria-label=\"Pages\">"))
            #expect(!html.contains("{{") && !html.contains("}}"))
        }
        #expect(assets["layout.mustache"] == nil && assets["js/common.js"] != nil)
    }
}
