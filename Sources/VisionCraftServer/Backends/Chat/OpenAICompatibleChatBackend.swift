import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

/// Chat through any server that speaks OpenAI's `/chat/completions`: vLLM, llama.cpp server,
/// Ollama, DeepInfra, OpenAI. A streamed request is streamed from upstream chunk by chunk; a whole
/// one is asked for whole, so the upstream does the least work for each.
public struct OpenAICompatibleChatBackend: ChatBackend {
    public let id: String
    let endpoint: UpstreamEndpoint
    let upstreamModel: String
    /// `top_k` and `repetition_penalty` are not OpenAI parameters; OpenAI itself rejects them.
    let sendsSamplingExtensions: Bool
    let client: HTTPClient
    /// Carries whole (non-streamed) answers from plain-HTTP upstreams, the latency-critical case.
    let wholeAnswerClient: LoopLocalHTTPClient?

    init(
        endpoint: UpstreamEndpoint, upstreamModel: String, sendsSamplingExtensions: Bool, client: HTTPClient,
        wholeAnswerClient: LoopLocalHTTPClient?
    ) {
        self.endpoint = endpoint
        self.upstreamModel = upstreamModel
        self.sendsSamplingExtensions = sendsSamplingExtensions
        self.client = client
        self.wholeAnswerClient = wholeAnswerClient
        self.id = "openai:\(endpoint.displayHost)/\(upstreamModel)"
    }

    public func startChat(_ request: ChatCompletionRequest) async throws(BackendError) -> ChatEventStream {
        if !request.stream, let wholeAnswerClient, let target = endpoint.plainHTTP {
            let response: LoopLocalHTTPClient.Response
            do {
                response = try await wholeAnswerClient.send(
                    .POST, target.pathPrefix + Self.path(request), headers: endpoint.headers(json: true),
                    body: upstreamBody(for: request).buffer, headTimeout: endpoint.requestTimeout)
            } catch {
                throw UpstreamFailure.from(error)
            }
            guard response.status == .ok else { throw UpstreamFailure.from(status: response.status, body: response.body) }
            return ChatEventStream.of(try Self.events(ofWholeAnswer: response.body))
        }
        let httpRequest = endpoint.request(Self.path(request), method: .POST, json: upstreamBody(for: request))
        let response: HTTPClientResponse
        do {
            response = try await client.execute(httpRequest, timeout: endpoint.requestTimeout)
        } catch {
            throw UpstreamFailure.from(error)
        }
        guard response.status == .ok else {
            let body = try? await response.body.collect(upTo: 64 * 1024)
            throw UpstreamFailure.from(status: response.status, body: body)
        }
        guard request.stream else {
            let body: ByteBuffer
            do {
                body = try await response.body.collect(upTo: 64 * 1024 * 1024)
            } catch {
                throw UpstreamFailure.from(error)
            }
            return ChatEventStream.of(try Self.events(ofWholeAnswer: body))
        }
        let reader = UpstreamChatStreamReader(
            lines: response.body.splitUTF8Lines(maximumBufferSize: 8 * 1024 * 1024).makeAsyncIterator())
        return ChatEventStream(next: { try await reader.next() }, cancel: { reader.abandon() })
    }

    /// The events of an upstream's non-streamed answer, in the order a stream would give them.
    static func events(ofWholeAnswer body: ByteBuffer) throws(BackendError) -> [ChatEvent] {
        guard let answer = (try? JSONValue.parse(body.readableBytesView)).map(UpstreamChunk.init(json:)),
            !answer.isError, let choice = answer.choices.first
        else {
            throw BackendError(.failed, "The backend answered with something that is not a completion.")
        }
        var events = answer.events(alreadyFinished: false)
        // An upstream that leaves out finish_reason still finished.
        if choice.finishReason == nil { events.append(.finished(reason: "stop")) }
        return events
    }

    public func probe() async -> Bool {
        do {
            let response = try await client.execute(endpoint.request("/models", method: .GET), timeout: .seconds(5))
            _ = try? await response.body.collect(upTo: 1024 * 1024)
            return response.status.code < 500
        } catch {
            return false
        }
    }

    /// A completions-API request goes to the upstream's completions API, a chat to its chat.
    static func path(_ request: ChatCompletionRequest) -> String {
        request.prompt == nil ? "/chat/completions" : "/completions"
    }

    func upstreamBody(for request: ChatCompletionRequest) -> JSONValue {
        var body: [String: JSONValue] = [
            "model": .string(upstreamModel),
            "max_tokens": .number(Double(request.maxTokens)),
            "temperature": .number(request.temperature),
            "top_p": .number(request.topP),
            "stream": .bool(request.stream),
        ]
        if let prompt = request.prompt {
            body["prompt"] = .string(prompt)
        } else {
            body["messages"] = .array(request.messages.map(Self.json))
        }
        // Asked for always: usage is recorded for every stream, whatever the client wanted to see.
        if request.stream { body["stream_options"] = ["include_usage": true] }
        if request.presencePenalty != 0 { body["presence_penalty"] = .number(request.presencePenalty) }
        if request.frequencyPenalty != 0 { body["frequency_penalty"] = .number(request.frequencyPenalty) }
        if !request.stop.isEmpty { body["stop"] = .array(request.stop.map(JSONValue.string)) }
        // Sent exact; upstreams read seeds as signed 64-bit integers, so the top bit is dropped.
        if let seed = request.seed { body["seed"] = .integer(Int64(seed & UInt64(Int64.max))) }
        if sendsSamplingExtensions {
            if request.stream {
                // Usage with every chunk (vLLM; llama.cpp's server in `timings`), so a stream the
                // client abandons still records its prompt. OpenAI itself refuses these fields.
                body["stream_options"] = ["include_usage": true, "continuous_usage_stats": true]
                body["timings_per_token"] = true
            }
            if request.topK > 0 { body["top_k"] = .number(Double(request.topK)) }
            if request.repetitionPenalty != 1 {
                // vLLM reads the first name, llama.cpp server and Ollama the second.
                body["repetition_penalty"] = .number(request.repetitionPenalty)
                body["repeat_penalty"] = .number(request.repetitionPenalty)
            }
        }
        return .object(body)
    }

    static func json(_ message: ChatMessage) -> JSONValue {
        var object: [String: JSONValue] = ["role": .string(message.role)]
        if let name = message.name { object["name"] = .string(name) }
        if message.parts.count == 1, case .text(let text) = message.parts[0] {
            object["content"] = .string(text)
        } else if message.parts.isEmpty {
            object["content"] = .null
        } else {
            object["content"] = .array(message.parts.map { part in
                switch part {
                case .text(let text): ["type": "text", "text": .string(text)]
                case .imageURL(let url): ["type": "image_url", "image_url": ["url": .string(url)]]
                }
            })
        }
        return .object(object)
    }
}
