import Foundation
import Hummingbird
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// `POST /v1/completions`: a prompt continued as it is, by an upstream's completions API or by the
/// embedded engine, in OpenAI's `text_completion` shapes, with chat's parameters, limits and usage.
@Suite struct CompletionsTests {
    @Test func anUpstreamContinuesThePromptOnItsCompletionsAPI() async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let whole = try await client.post(
                    "/v1/completions", json: #"{"model": "test-model", "prompt": "Once upon", "max_tokens": 200, "seed": 5}"#,
                    key: key)
                #expect(whole.status == .ok)
                #expect(whole.json["object"].string == "text_completion")
                #expect(whole.json["id"].string?.hasPrefix("cmpl-") == true)
                #expect(whole.json["choices"][0]["text"].string == "Hello from upstream")
                #expect(whole.json["choices"][0]["finish_reason"].string == "stop")
                #expect(whole.json["usage"]["prompt_tokens"].int == OpenAIUpstreamDouble.promptTokens)
                let sent = try #require(upstream.requests.last)
                #expect(sent["prompt"] as? String == "Once upon" && sent["messages"] == nil)
                #expect(sent["max_tokens"] as? Int == 200 && sent["seed"] as? Int == 5)

                let streamed = try await client.post(
                    "/v1/completions",
                    json: #"{"model": "test-model", "prompt": ["Once"], "stream": true, "stream_options": {"include_usage": true}}"#,
                    key: key)
                #expect(streamed.headers[.contentType] == "text/event-stream")
                let events = sseEvents(streamed.body)
                #expect(events.last == "[DONE]")
                let chunks = events.dropLast().map(jsonObject)
                #expect(chunks.allSatisfy { $0["object"].string == "text_completion" })
                #expect(chunks.compactMap { $0["choices"][0]["text"].string }.joined() == "Hello from upstream")
                #expect(chunks.contains { $0["choices"][0]["finish_reason"].string == "stop" })
                #expect(chunks.last?["usage"]["completion_tokens"].int == 3)
                #expect(upstream.completionRequests == 2)
            }
            // Limits and usage as chat's: both requests recorded under chat, with their tokens.
            let records = try await environment.usageRecords()
            #expect(records.map(\.category) == [.chat, .chat] && records.allSatisfy { $0.status == 200 })
            #expect(records.map(\.completionTokens) == [3, 3])
        }
    }

    @Test(arguments: [
        (#"{"model": "test-model"}"#, "prompt"),
        (#"{"model": "test-model", "prompt": ["a", "b"]}"#, "prompt"),
        (#"{"model": "test-model", "prompt": [1, 2, 3]}"#, "prompt"),
        (#"{"model": "test-model", "prompt": 7}"#, "prompt"),
        (#"{"model": "test-model", "prompt": "a", "echo": true}"#, "echo"),
        (#"{"model": "test-model", "prompt": "a", "suffix": "b"}"#, "suffix"),
        (#"{"model": "test-model", "prompt": "a", "max_tokens": 5}"#, "max_tokens"),
        (#"{"model": "test-model", "prompt": "a", "temperature": 101}"#, "temperature"),
    ])
    func badCompletionRequestsNameTheParameter(_ body: String, _ parameter: String) async throws {
        try await withChatUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post("/v1/completions", json: body, key: key)
                #expect(response.status == .badRequest)
                #expect(response.errorParam == parameter)
            }
            #expect(upstream.completionRequests == 0)
        }
    }

    /// The embedded engine, in llama.cpp's product order, continues the reference prompts exactly as
    /// llama.cpp does (Tests/LLMEngineTests/Reference/generation-reference.json, written by
    /// scripts/reference/llama_generation_reference.py): the same prompt tokens, the same text.
    /// (The prompts are chat turns written out, special tokens and all, as a client of a base
    /// model's completions API would.)
    @Test func theEmbeddedEngineContinuesAPromptAsLlamaCppDoes() async throws {
        let url = EmbeddedImageTests.root.appendingPathComponent("Tests/LLMEngineTests/Reference/generation-reference.json")
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
        let eos = reference["eos"] as! Int
        // The reference stops at its end-of-turn token or after 64 tokens, whichever comes first.
        let cases = (reference["cases"] as! [[String: Any]]).map {
            (prompt: $0["prompt"] as! String, promptTokens: ($0["prompt_ids"] as! [Int]).count, text: $0["text"] as! String,
             ended: ($0["greedy"] as! [Int]).last == eos)
        }
        let environment = try await EmbeddedModelTests.environment(productOrder: .llamaCpp)
        let (key, _) = try await environment.mintKey(.tier2)
        // In process, with no client deadline: the whole suite shares two cores with these answers.
        try await environment.test { client in
            for reference in cases {
                let response = try await client.post(
                    "/v1/completions",
                    json: body(["model": EmbeddedModelTests.name, "prompt": reference.prompt, "temperature": 0, "max_tokens": 128]),
                    key: key)
                #expect(response.status == .ok, "\(response.body.string)")
                #expect(response.json["usage"]["prompt_tokens"].int == reference.promptTokens)
                let text = response.json["choices"][0]["text"].string ?? ""
                if reference.ended {
                    #expect(text == reference.text)
                    #expect(response.json["choices"][0]["finish_reason"].string == "stop")
                } else {
                    #expect(text.hasPrefix(reference.text) && text.count > reference.text.count, "\(text)")
                }
            }
        }
    }

    /// A file without a chat template is a base model: chat is refused with a pointer to the
    /// completions API, which continues its prompts (read as llama.cpp reads them, BOS and all).
    @Test func aBaseModelIsServedOnCompletionsAndRefusedOnChat() async throws {
        let reference = EmbeddedImageTests.root.appendingPathComponent("Tests/LLMEngineTests/Reference")
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("visioncraft-base-\(getpid())")
        try? FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try? FileManager.default.createSymbolicLink(
            at: directory.appendingPathComponent("tiny-llama.gguf"), withDestinationURL: reference.appendingPathComponent("tiny-llama.gguf"))
        let prompts = try JSONSerialization.jsonObject(with: Data(contentsOf: reference.appendingPathComponent(
            "completion-prompt-reference.json"))) as! [String: Any]
        let tiny = (prompts["files"] as! [[String: Any]]).first { $0["file"] as? String == "tiny-llama.gguf" }!
        let prompt = (tiny["prompts"] as! [[String: Any]])[0]
        let (text, promptTokens) = (prompt["text"] as! String, (prompt["ids"] as! [Int]).count)

        let environment = try await TestEnvironment.make(modelsDirectory: directory.path)
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.test { client in
            let chat = try await client.post(
                "/v1/chat/completions", json: body(["model": "tiny-llama", "messages": [["role": "user", "content": "Hi"]]]),
                key: key)
            #expect(chat.status == .badRequest && chat.errorParam == "messages")
            #expect(chat.errorMessage.contains("base model") && chat.errorMessage.contains("/v1/completions"))
            let completion = try await client.post(
                "/v1/completions", json: body(["model": "tiny-llama", "prompt": text, "max_tokens": 128, "temperature": 0]),
                key: key)
            #expect(completion.status == .ok)
            #expect(completion.json["usage"]["prompt_tokens"].int == promptTokens)
            #expect(completion.json["usage"]["completion_tokens"].int ?? 0 > 0)
        }
    }
}
