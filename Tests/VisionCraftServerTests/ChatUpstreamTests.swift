import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import VisionCraftServer

/// Chat through a live server in front of a live OpenAI-protocol upstream double.
@Suite struct ChatUpstreamTests {
    @Test func wholeAnswersCarryTheUpstreamTextAndExactUsage() async throws {
        try await withChatUpstream { upstream, environment, key, record in
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/v1/chat/completions", json: body(["model": "test-model", "messages": hello]), key: key)
                #expect(response.status == 200)
                let json = response.body.json
                #expect(json["object"].string == "chat.completion")
                #expect(json["model"].string == "test-model")
                #expect(json["choices"][0]["message"]["role"].string == "assistant")
                #expect(json["choices"][0]["message"]["content"].string == upstream.replyDeltas.joined())
                #expect(json["choices"][0]["finish_reason"].string == "stop")
                #expect(json["usage"]["prompt_tokens"].int == OpenAIUpstreamDouble.promptTokens)
                #expect(json["usage"]["completion_tokens"].int == upstream.replyDeltas.count)
                #expect(json["usage"]["total_tokens"].int == OpenAIUpstreamDouble.promptTokens + upstream.replyDeltas.count)
                #expect(response.headers.first(name: "X-Request-Id") != nil)
            }
            let records = try await environment.usageRecords()
            #expect(records.count == 1)
            #expect(records[0].keyID == record.id)
            #expect(records[0].category == .chat)
            #expect(records[0].model == "test-model")
            #expect(records[0].status == 200)
            #expect(records[0].promptTokens == OpenAIUpstreamDouble.promptTokens)
            #expect(records[0].completionTokens == upstream.replyDeltas.count)
            #expect(records[0].countsTowardQuota)
        }
    }

    @Test func streamsFollowOpenAIsChunkFormatAndEndWithDone() async throws {
        try await withChatUpstream { upstream, environment, key in
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/v1/chat/completions",
                    json: body(["model": "test-model", "messages": hello, "stream": true]), key: key)
                #expect(response.status == 200)
                #expect(response.headers.first(name: "content-type") == "text/event-stream")
                let events = sseEvents(response.body)
                #expect(events.last == "[DONE]")
                let chunks = events.dropLast().map(jsonObject)
                #expect(chunks.allSatisfy { $0["object"].string == "chat.completion.chunk" })
                #expect(Set(chunks.compactMap { $0["id"].string }).count == 1, "one id for the whole stream")
                #expect(chunks.first?["choices"][0]["delta"]["role"].string == "assistant")
                let text = chunks.compactMap { $0["choices"][0]["delta"]["content"].string }.joined()
                #expect(text == upstream.replyDeltas.joined())
                #expect(chunks.last?["choices"][0]["finish_reason"].string == "stop")
                #expect(chunks.allSatisfy { !$0["usage"].exists }, "no usage field unless asked for")
            }
            let sent = try #require(upstream.requests.first)
            #expect(sent["stream"] as? Bool == true)
            #expect((sent["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true,
                    "usage is asked for even when the client did not, so it can be recorded")
            #expect(try await environment.usageRecords().map(\.completionTokens) == [upstream.replyDeltas.count])
        }
    }

    @Test func includeUsageAddsAFinalUsageChunk() async throws {
        try await withChatUpstream { upstream, environment, key in
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/v1/chat/completions",
                    json: body(["model": "test-model", "messages": hello, "stream": true,
                                "stream_options": ["include_usage": true]]), key: key)
                let chunks = sseEvents(response.body).dropLast().map(jsonObject)
                let last = try #require(chunks.last)
                #expect(last["choices"].array?.isEmpty == true)
                #expect(last["usage"]["prompt_tokens"].int == OpenAIUpstreamDouble.promptTokens)
                #expect(last["usage"]["completion_tokens"].int == upstream.replyDeltas.count)
                #expect(chunks.dropLast().allSatisfy { $0["usage"].isNull })
            }
            let records = try await environment.usageRecords()
            #expect(records.map(\.completionTokens) == [upstream.replyDeltas.count])
        }
    }

    @Test func anUpstreamCutMidStreamEndsWithAnErrorEventAndIsRecordedWithTheTokensSent() async throws {
        try await withChatUpstream { upstream, environment, key in
            try await environment.live { server in
                let response = try await LiveClient.streamingChat(
                    server, key: key, ["model": "test-model", "messages": [["role": "user", "content": "cut"]], "stream": true])
                // The upstream cuts once the second chunk has come through the gateway.
                var collected = ByteBuffer(), released = false
                for try await var part in response.body {
                    collected.writeBuffer(&part)
                    if !released && String(buffer: collected).contains("\"\(upstream.replyDeltas[1])\"") {
                        upstream.releaseCut()
                        released = true
                    }
                }
                let events = sseEvents(collected)
                #expect(!events.contains("[DONE]"))
                let error = try #require(events.last.map(jsonObject))
                #expect(error["error"]["type"].string == "upstream_error")
                let text = events.dropLast().map(jsonObject).compactMap { $0["choices"][0]["delta"]["content"].string }.joined()
                #expect(text == upstream.replyDeltas.prefix(2).joined())
            }
            let records = try await environment.usageRecords()
            #expect(records.count == 1)
            #expect(records[0].status == 502)
            #expect(records[0].completionTokens == 2)
        }
    }

    @Test func aStalledUpstreamIs504() async throws {
        let upstream = OpenAIUpstreamDouble()
        try await upstream.run { url in
            // Long enough for the first chunk to arrive on a loaded machine; far below the double's 20 s.
            let environment = try await TestEnvironment.make(configuration: .upstreams(chat: [url], readTimeout: 2))
            let (key, _) = try await environment.mintKey(.tier2)
            try await environment.live { server in
                let whole = try await LiveClient.post(
                    "\(server)/v1/chat/completions",
                    json: body(["model": "test-model", "messages": [["role": "user", "content": "stall"]]]), key: key)
                #expect(whole.status == 504)
                #expect(whole.body.json["error"]["code"].string == "backend_timeout")

                let midStream = try await LiveClient.post(
                    "\(server)/v1/chat/completions",
                    json: body(["model": "test-model", "messages": [["role": "user", "content": "stall-mid"]], "stream": true]),
                    key: key)
                let last = try #require(sseEvents(midStream.body).last.map(jsonObject))
                #expect(last["error"]["code"].string == "backend_timeout")
            }
            let records = try await environment.usageRecords()
            #expect(records.map(\.status) == [504, 504])
            #expect(records[1].completionTokens == 1)
        }
    }

    @Test(arguments: [("fail", 502, "model crashed"), ("busy", 503, "slow down"), ("bad", 400, "prompt is too long")])
    func upstreamErrorsBecomeCleanGatewayErrors(_ behaviour: String, _ status: Int, _ detail: String) async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/v1/chat/completions",
                    json: body(["model": "test-model", "messages": [["role": "user", "content": behaviour]]]), key: key)
                #expect(response.status == status)
                let message = response.body.json["error"]["message"].string ?? ""
                #expect(!message.contains(detail), "the upstream's words go to the log, not to the client")
                #expect(!message.contains("127.0.0.1"), "upstream addresses stay private")
                let requestID = try #require(response.headers.first(name: "X-Request-Id"))
                #expect(message.contains(requestID) == (status >= 500), "a gateway error names the request: \(message)")
            }
        }
    }

    @Test func failingBackendsAreSkippedForHealthyOnes() async throws {
        let broken = OpenAIUpstreamDouble(name: "broken")
        let healthy = OpenAIUpstreamDouble(name: "healthy")
        broken.force("fail")
        try await broken.run { brokenURL in
            try await healthy.run { healthyURL in
                // A port nothing listens on, a server that fails, and one that works.
                let environment = try await TestEnvironment.make(
                    configuration: .upstreams(chat: ["http://127.0.0.1:1/v1", brokenURL, healthyURL]))
                let (key, _) = try await environment.mintKey(.tier2)
                try await environment.live { server in
                    for _ in 0..<4 {
                        let response = try await LiveClient.post(
                            "\(server)/v1/chat/completions", json: body(["model": "test-model", "messages": hello]), key: key)
                        #expect(response.status == 200)
                        #expect(response.body.json["choices"][0]["message"]["content"].string == "Hello from healthy")
                    }
                }
                #expect(broken.requests.count == 1, "a failed backend cools down instead of being asked again")
                #expect(healthy.requests.count == 4)
            }
        }
    }

    @Test func backendsOfAModelAreUsedInTurn() async throws {
        let first = OpenAIUpstreamDouble(name: "first")
        let second = OpenAIUpstreamDouble(name: "second")
        try await first.run { firstURL in
            try await second.run { secondURL in
                let environment = try await TestEnvironment.make(configuration: .upstreams(chat: [firstURL, secondURL]))
                let (key, _) = try await environment.mintKey(.tier2)
                try await environment.live { server in
                    for _ in 0..<6 {
                        let response = try await LiveClient.post(
                            "\(server)/v1/chat/completions", json: body(["model": "test-model", "messages": hello]), key: key)
                        #expect(response.status == 200)
                    }
                }
                #expect(first.requests.count == 3)
                #expect(second.requests.count == 3)
            }
        }
    }

    @Test func aClientThatLeavesMidStreamCancelsTheUpstreamAndIsRecorded() async throws {
        try await withChatUpstream { upstream, environment, key in
            try await environment.live { server in
                let reader = Task {
                    let response = try await LiveClient.streamingChat(
                        server, key: key, ["model": "test-model", "messages": [["role": "user", "content": "slow"]], "stream": true])
                    var received = 0
                    for try await chunk in response.body {
                        received += chunk.readableBytes
                        if received > 600 { break }
                    }
                }
                try await reader.value
                // Generous: the engine suites running beside this one can starve both cores.
                #expect(await eventually(timeout: .seconds(20)) { upstream.cancelledStreams == 1 })
                #expect(upstream.completedStreams == 0)
                // The key's only generation slot is free again.
                #expect(await eventually {
                    (try? await environment.usageRecords().first?.status) == UsageRecord.clientClosedStatus
                })
            }
            let record = try #require(try await environment.usageRecords().first)
            #expect(record.completionTokens > 0)
            #expect(record.completionTokens < 500)
            #expect(record.promptTokens == OpenAIUpstreamDouble.promptTokens, "the prompt is paid for too")
            environment.clock.advance(by: 2)
            _ = try await environment.services.admission.admit(
                try #require(try await environment.services.keys.list().first), category: .chat)
        }
    }
}
