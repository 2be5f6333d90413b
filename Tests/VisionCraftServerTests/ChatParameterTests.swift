import Foundation
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// Both sides of every chat parameter range, through the router, in front of a real upstream.
@Suite struct ChatParameterTests {
    struct Bound: Sendable, CustomStringConvertible {
        var param: String
        var lowest: Double
        var highest: Double
        var below: Double
        var above: Double
        var description: String { param }
    }

    static let bounds: [Bound] = [
        Bound(param: "max_tokens", lowest: 128, highest: 100_000, below: 127, above: 100_001),
        Bound(param: "temperature", lowest: 0, highest: 100, below: -0.01, above: 100.01),
        Bound(param: "top_p", lowest: 0, highest: 1, below: -0.01, above: 1.01),
        Bound(param: "top_k", lowest: 0, highest: 99_999, below: -1, above: 100_000),
        Bound(param: "repetition_penalty", lowest: 0.01, highest: 5, below: 0.001, above: 5.01),
        Bound(param: "presence_penalty", lowest: -2, highest: 2, below: -2.01, above: 2.01),
        Bound(param: "frequency_penalty", lowest: -2, highest: 2, below: -2.01, above: 2.01),
    ]

    @Test(arguments: bounds)
    func rangeIsEnforcedOnBothSides(_ bound: Bound) async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                for accepted in [bound.lowest, bound.highest] {
                    let response = try await client.post(
                        "/v1/chat/completions",
                        json: body(["model": "test-model", "messages": hello, bound.param: accepted]), key: key)
                    #expect(response.status == .ok, "\(bound.param)=\(accepted): \(response.body.string)")
                }
                for refused in [bound.below, bound.above] {
                    let response = try await client.post(
                        "/v1/chat/completions",
                        json: body(["model": "test-model", "messages": hello, bound.param: refused]), key: key)
                    #expect(response.status == .badRequest, "\(bound.param)=\(refused)")
                    #expect(response.errorParam == bound.param)
                    #expect(response.json["error"]["type"].string == "invalid_request_error")
                }
            }
        }
    }

    @Test func defaultsOfTheContractReachTheUpstream() async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post(
                    "/v1/chat/completions", json: body(["model": "test-model", "messages": hello]), key: key)
                #expect(response.status == .ok)
            }
            let sent = try #require(upstream.requests.first)
            #expect(sent["model"] as? String == "upstream-model")
            #expect(sent["max_tokens"] as? Int == 512)
            #expect(sent["temperature"] as? Double == 0.7)
            #expect(sent["top_p"] as? Double == 0.9)
            #expect(sent["stream"] as? Bool == false, "a whole answer is asked for whole")
            #expect(sent["stream_options"] == nil)
            #expect(sent["top_k"] == nil, "top_k 0 means off and is not sent")
            #expect(sent["repetition_penalty"] == nil)
            #expect(sent["presence_penalty"] == nil)
        }
    }

    @Test func samplingExtensionsStopAndSeedAreMappedForUpstreams() async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post(
                    "/v1/chat/completions",
                    json: body([
                        "model": "test-model", "messages": hello, "top_k": 40, "repetition_penalty": 1.3,
                        "presence_penalty": 0.5, "frequency_penalty": -0.5, "stop": ["\n\n", "END"], "seed": 1234,
                        "n": 1, "user": "someone", "stream_options": NSNull(),
                    ]), key: key)
                #expect(response.status == .ok, "\(response.body.string)")
            }
            let sent = try #require(upstream.requests.first)
            #expect(sent["top_k"] as? Int == 40)
            #expect(sent["repetition_penalty"] as? Double == 1.3)
            #expect(sent["repeat_penalty"] as? Double == 1.3)
            #expect(sent["presence_penalty"] as? Double == 0.5)
            #expect(sent["frequency_penalty"] as? Double == -0.5)
            #expect(sent["stop"] as? [String] == ["\n\n", "END"])
            #expect(sent["seed"] as? Int == 1234)
            #expect(sent["user"] == nil, "fields we do not use are not forwarded")
        }
    }

    @Test func aSeedPastTwoToTheFiftyThreeStaysExact() async throws {
        let seed: Int64 = (1 << 53) + 1
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post(
                    "/v1/chat/completions",
                    json: #"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"seed":\#(seed)}"#, key: key)
                #expect(response.status == .ok, "\(response.body.string)")
            }
            #expect((upstream.requests.first?["seed"] as? NSNumber)?.int64Value == seed)
        }
        #expect(try ChatCompletionRequest(json: JSONValue.parse(
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":9223372036854775807}"#)).seed
            == UInt64(Int64.max))
        #expect(try ChatCompletionRequest(json: JSONValue.parse(
            #"{"model":"m","messages":[{"role":"user","content":"hi"}],"seed":-1}"#)).seed == UInt64.max)
    }

    @Test(arguments: [
        (#"{"messages":[{"role":"user","content":"hi"}]}"#, "model"),
        (#"{"model":"test-model"}"#, "messages"),
        (#"{"model":"test-model","messages":[]}"#, "messages"),
        (#"{"model":"test-model","messages":"hi"}"#, "messages"),
        (#"{"model":"test-model","messages":[{"role":"wizard","content":"hi"}]}"#, "messages[0].role"),
        (#"{"model":"test-model","messages":[{"role":"user"}]}"#, "messages[0].content"),
        (#"{"model":"test-model","messages":[{"role":"user","content":[{"type":"audio"}]}]}"#, "messages[0].content[0].type"),
        (#"{"model":42,"messages":[{"role":"user","content":"hi"}]}"#, "model"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"max_tokens":256.5}"#, "max_tokens"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"temperature":"hot"}"#, "temperature"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream":"yes"}"#, "stream"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stop":[1]}"#, "stop"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"seed":1.5}"#, "seed"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"n":2}"#, "n"),
        (#"{"model":"test-model","messages":[{"role":"user","content":"hi"}],"stream_options":{"include_usage":true}}"#, "stream_options"),
        (#"{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}"#, "model"),
    ])
    func malformedRequestsNameTheParameter(_ json: String, _ param: String) async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post("/v1/chat/completions", json: json, key: key)
                #expect(response.status == .badRequest, "\(json) → \(response.body.string)")
                #expect(response.errorParam == param)
            }
            #expect(upstream.requests.isEmpty, "a refused request never reaches a backend")
        }
    }

    @Test func imagesGoOnlyToVisionModels() async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            let pixel = "data:image/png;base64," + Data(TestImages.png(width: 1, height: 1, rgb: (1, 2, 3))).base64EncodedString()
            let messages: [[String: Any]] = [[
                "role": "user",
                "content": [["type": "text", "text": "What is this?"], ["type": "image_url", "image_url": ["url": pixel]]],
            ]]
            let plainModel = body(["model": "test-model", "messages": messages])
            let visionModel = body(["model": "test-vision", "messages": messages])
            try await environment.test { client in
                let refused = try await client.post("/v1/chat/completions", json: plainModel, key: key)
                #expect(refused.status == .badRequest)
                #expect(refused.errorParam == "messages")
                #expect(refused.errorMessage.contains("does not accept images"))

                let accepted = try await client.post("/v1/chat/completions", json: visionModel, key: key)
                #expect(accepted.status == .ok)
            }
            let sent = try #require(upstream.requests.first?["messages"] as? [[String: Any]])
            let parts = try #require(sent.first?["content"] as? [[String: Any]])
            #expect((parts[1]["image_url"] as? [String: Any])?["url"] as? String == pixel)
        }
    }
}
