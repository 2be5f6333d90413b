import Foundation
import LLMEngine
import Testing
@testable import VisionCraftServer

/// The server with no configuration at all but the models `make model` fetches in its models
/// folder: it lists both and serves them from its own engine — SmolLM2 on chat, the base model
/// Gemma 3 270M on the completions API.
@Suite(.serialized) struct EmbeddedModelTests {
    /// The models `make model` fetches: SmolLM2 and Gemma 3 270M.
    static let fetchedModels = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/models").path
    /// A folder with the default chat model alone, for the suites that chat: loading Gemma 3 too
    /// into every such server made the whole suite slow enough on two cores for network tests
    /// beside it to miss their deadlines.
    static let modelsDirectory: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("chat-models-\(UUID().uuidString)")
        try! FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try! FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("SmolLM2-135M-Instruct.Q4_1.gguf").path,
            withDestinationPath: fetchedModels + "/SmolLM2-135M-Instruct.Q4_1.gguf")
        return directory.path
    }()
    static let name = "SmolLM2-135M-Instruct"
    static let baseModel = "gemma-3-270m"
    static var messages: [[String: Any]] { [
        ["role": "system", "content": "You are a concise assistant."],
        ["role": "user", "content": "Write a haiku about the sea."],
    ] }

    static func environment(productOrder: ProductOrder? = nil, models: String = modelsDirectory) async throws -> TestEnvironment {
        var logger = Logger(label: "test")
        logger.logLevel = .warning
        let database = try SQLiteDatabase.inMemory()
        let clock = ManualClock()
        var configuration = ServerConfiguration()
        if let productOrder {
            configuration.server = ServerConfiguration.ServerSection()
            configuration.server?.engineProductOrder = productOrder
        }
        let services = try await AppServices.make(
            configuration: configuration, keys: SQLiteKeyRepository(database: database),
            usageRepository: SQLiteUsageRepository(database: database), environment: [:],
            modelsDirectory: models, clock: clock.wallClock, logger: logger)
        return TestEnvironment(services: services, clock: clock, database: database)
    }

    /// What the engine itself answers to the same conversation at temperature 0.
    static func expectedAnswer() async throws -> (text: String, promptTokens: Int, completionTokens: Int) {
        let model = try LlamaModel(path: fetchedModels + "/SmolLM2-135M-Instruct.Q4_1.gguf")
        let prompt = try ChatTemplate(file: model.file).tokens(
            [.init(role: "system", content: "You are a concise assistant."),
             .init(role: "user", content: "Write a haiku about the sea.")],
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
        let environment = try await Self.environment(models: Self.fetchedModels)
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            #expect(Set(try await LiveClient.get("\(server)/models-llm").body.json.strings ?? []) == [Self.name, Self.baseModel])

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

    /// Gemma 3 dropped into the folder: its greedy continuation on /v1/completions is the engine's
    /// own, the cache's start reused by a second request with the same prompt, and chat is a 400.
    @Test func theBaseModelContinuesTextOnCompletionsOnly() async throws {
        let model = try LlamaModel(path: Self.fetchedModels + "/gemma-3-270m.Q4_K_M.gguf")
        let prompt = "The capital of France is"
        let ids = try #require(model.tokenizer.promptTokens(prompt, limit: .max))
        let expected = await withCheckedContinuation { continuation in
            Thread {
                var text = ""
                _ = model.generate(GenerationRequest(promptTokens: ids, maxTokens: 128, sampling: .init(), stopSequences: ["."]),
                                   state: model.makeState(capacity: 512)) { text += $0 }
                continuation.resume(returning: text)
            }.start()
        }
        #expect(!expected.isEmpty)
        let environment = try await Self.environment(models: Self.fetchedModels)
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.test { client in
            for round in 0..<2 {
                let response = try await client.post(
                    "/v1/completions",
                    json: body(["model": Self.baseModel, "prompt": prompt, "temperature": 0, "stop": ["."]]), key: key)
                #expect(response.status == .ok, "\(response.body.string)")
                #expect(response.body.json["object"].string == "text_completion")
                #expect(response.body.json["choices"][0]["text"].string == expected)
                #expect(response.body.json["usage"]["prompt_tokens"].int == ids.count)
                // The second time, all but the prompt's last token come from the cache.
                #expect(response.body.json["usage"]["prompt_tokens_details"]["cached_tokens"].int
                        == (round == 0 ? 0 : ids.count - 1))
            }
            let chat = try await client.post(
                "/v1/chat/completions",
                json: body(["model": Self.baseModel, "messages": [["role": "user", "content": "Hi"]]]), key: key)
            #expect(chat.status == .badRequest)
            #expect(chat.errorMessage.contains("/v1/completions"))
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

/// Many clients at once on the embedded engine: answers identical to a lone client's, the server
/// responsive meanwhile, and a client that leaves stops its generation.
@Suite(.serialized) struct EmbeddedConcurrencyTests {
    static let questions = ["Write a haiku about the sea.", "What is the capital of France?", "Name three colours."]

    static func streamedText(_ server: String, key: String, question: String) async throws -> String {
        let response = try await LiveClient.post(
            "\(server)/v1/chat/completions",
            json: body(["model": EmbeddedModelTests.name, "messages": [["role": "user", "content": question]],
                        "temperature": 0, "max_tokens": 128, "stream": true]), key: key)
        #expect(response.status == 200, "\(response.body.string)")
        let events = sseEvents(response.body)
        #expect(events.last == "[DONE]")
        return events.dropLast().map(jsonObject).compactMap { $0["choices"][0]["delta"]["content"].string }.joined()
    }

    @Test func eightConcurrentStreamsMatchTheirSoloRunsAndHealthStaysFast() async throws {
        let environment = try await EmbeddedModelTests.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            var solo: [String: String] = [:]
            for question in Self.questions {
                solo[question] = try await Self.streamedText(server, key: key, question: question)
                #expect(!(solo[question] ?? "").isEmpty)
            }
            try await withThrowingTaskGroup(of: (String, String).self) { group in
                for index in 0..<8 {
                    let question = Self.questions[index % Self.questions.count]
                    group.addTask { (question, try await Self.streamedText(server, key: key, question: question)) }
                }
                // While eight answers are being computed, the server still answers at once. The
                // probe is a client of its own, as a load balancer's would be: the shared one's
                // connections to this host are all busy streaming.
                let backend = try #require(environment.services.registry.chatModel(named: EmbeddedModelTests.name)?
                    .pool.members.first as? EmbeddedChatBackend)
                #expect(await eventually(timeout: .seconds(30)) { backend.load == 8 }, "all eight under way")
                let probe = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
                defer { Task { try? await probe.shutdown() } }
                for _ in 0..<5 {
                    let started = ContinuousClock.now
                    let health = try await probe.execute(HTTPClientRequest(url: "\(server)/health"), timeout: .seconds(5))
                    #expect(health.status == .ok)
                    #expect(ContinuousClock.now - started < .milliseconds(500))
                }
                var answered = 0
                for try await (question, text) in group {
                    #expect(text == solo[question], "\(question)")
                    answered += 1
                }
                #expect(answered == 8)
            }
        }
    }

    @Test func aClientThatLeavesStopsItsGeneration() async throws {
        let environment = try await EmbeddedModelTests.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            let response = try await LiveClient.streamingChat(server, key: key, [
                "model": EmbeddedModelTests.name, "messages": [["role": "user", "content": "Tell me a long story."]],
                "temperature": 1, "seed": 5, "max_tokens": 1500, "stream": true,
            ])
            var received = 0
            for try await chunk in response.body {
                received += chunk.readableBytes
                if received > 1000 { break }
            }
            #expect(await eventually(timeout: .seconds(10)) {
                (try? await environment.usageRecords().first?.status) == UsageRecord.clientClosedStatus
            })
            let record = try #require(try await environment.usageRecords().first)
            #expect(record.completionTokens > 0)
            #expect(record.completionTokens < 1500)
            let backend = try #require(environment.services.registry.chatModel(named: EmbeddedModelTests.name)?
                .pool.members.first as? EmbeddedChatBackend)
            let prompt = try await backend.promptTokens([ChatMessage(role: "user", text: "Tell me a long story.")])
            #expect(record.promptTokens == prompt.count, "the prompt is paid for too")
        }
    }
}

import AsyncHTTPClient
import NIOCore
