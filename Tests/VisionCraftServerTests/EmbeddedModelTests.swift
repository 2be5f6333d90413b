import Foundation
import LLMEngine
import Testing
@testable import VisionCraftServer

/// The server with no configuration at all but the default model in its models folder: it lists
/// and serves SmolLM2 from its own engine.
@Suite(.serialized) struct EmbeddedModelTests {
    static let modelsDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/models").path
    static let name = "SmolLM2-135M-Instruct"
    static var messages: [[String: Any]] { [
        ["role": "system", "content": "You are a concise assistant."],
        ["role": "user", "content": "Write a haiku about the sea."],
    ] }

    static func environment() async throws -> TestEnvironment {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = try SQLiteDatabase.inMemory()
        let clock = ManualClock()
        let services = try await AppServices.make(
            configuration: ServerConfiguration(), keys: SQLiteKeyRepository(database: database),
            usageRepository: SQLiteUsageRepository(database: database), environment: [:],
            modelsDirectory: modelsDirectory, clock: clock.wallClock, logger: logger)
        return TestEnvironment(services: services, clock: clock, database: database)
    }

    /// What the engine itself answers to the same conversation at temperature 0.
    static func expectedAnswer() async throws -> (text: String, promptTokens: Int, completionTokens: Int) {
        let model = try LlamaModel(path: modelsDirectory + "/SmolLM2-135M-Instruct.Q4_1.gguf")
        let chat = ChatMessage.self
        let prompt = try ChatMLPrompt.tokens(
            for: [chat.init(role: "system", text: "You are a concise assistant."),
                  chat.init(role: "user", text: "Write a haiku about the sea.")],
            tokenizer: model.tokenizer)
        return await withCheckedContinuation { continuation in
            Thread {
                var text = ""
                let result = model.generate(
                    GenerationRequest(promptTokens: prompt, maxTokens: 128, sampling: .init()),
                    state: model.makeState(capacity: 512)) { text += $0 }
                continuation.resume(returning: (text, result.promptTokens, result.completionTokens))
            }.start()
        }
    }

    @Test func theDefaultModelIsListedAndAnswersWithTheEnginesText() async throws {
        let expected = try await Self.expectedAnswer()
        #expect(!expected.text.isEmpty)
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            #expect(try await LiveClient.get("\(server)/models-llm").body.json.strings == [Self.name])

            let whole = try await LiveClient.post(
                "\(server)/v1/chat/completions",
                json: body(["model": Self.name, "messages": Self.messages, "temperature": 0]), key: key)
            #expect(whole.status == 200, "\(whole.body.string)")
            #expect(whole.body.json["choices"][0]["message"]["content"].string == expected.text)
            #expect(whole.body.json["choices"][0]["finish_reason"].string == "stop")
            #expect(whole.body.json["usage"]["prompt_tokens"].int == expected.promptTokens)
            #expect(whole.body.json["usage"]["completion_tokens"].int == expected.completionTokens)

            let streamed = try await LiveClient.post(
                "\(server)/v1/chat/completions",
                json: body(["model": Self.name, "messages": Self.messages, "temperature": 0, "stream": true]), key: key)
            let events = sseEvents(streamed.body)
            #expect(events.last == "[DONE]")
            let text = events.dropLast().map(jsonObject).compactMap { $0["choices"][0]["delta"]["content"].string }.joined()
            #expect(text == expected.text)
        }
    }

    @Test func aPromptLongerThanTheContextIs400() async throws {
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        let long = String(repeating: "word ", count: 3000)
        try await environment.test { client in
            let response = try await client.post(
                "/v1/chat/completions",
                json: body(["model": Self.name, "messages": [["role": "user", "content": long]]]), key: key)
            #expect(response.status == .badRequest)
            #expect(response.errorMessage.contains("context holds 2048"))
        }
    }
}

import Logging
