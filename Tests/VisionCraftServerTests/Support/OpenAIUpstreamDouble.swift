import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore
import NIOFoundationCompat

/// A stand-in for vLLM / llama.cpp server / OpenAI, speaking OpenAI's chat protocol over a real
/// socket. What it does is chosen by the last user message (or forced for every request):
/// `cut`, `stall`, `stall-mid`, `fail`, `busy`, `bad`, `slow` (10 s), `slow-short` (1 s), `no-usage`; anything else gets
/// the three-token answer "Hello from <name>".
final class OpenAIUpstreamDouble: Sendable {
    let name: String
    private let state = NIOLockedValueBox(State())

    struct State: @unchecked Sendable {
        var requests: [[String: Any]] = []
        var authorizations: [String?] = []
        var forcedBehaviour: String?
        var cancelledStreams = 0
        var completedStreams = 0
        /// Requests to `/v1/completions` (the rest went to `/v1/chat/completions`).
        var completionRequests = 0
    }

    /// A streamed `cut` answer drops its connection after two chunks once the test says so
    /// (`releaseCut`), when it has seen them arrive: the cut then falls exactly after them however
    /// busy the machine is.
    private let cutSignals: AsyncStream<Void>
    private let cutContinuation: AsyncStream<Void>.Continuation

    init(name: String = "upstream") {
        self.name = name
        (cutSignals, cutContinuation) = AsyncStream<Void>.makeStream()
    }

    func releaseCut() { cutContinuation.yield() }

    var requests: [[String: Any]] { state.withLockedValue { $0.requests } }
    var authorizations: [String?] { state.withLockedValue { $0.authorizations } }
    var cancelledStreams: Int { state.withLockedValue { $0.cancelledStreams } }
    var completedStreams: Int { state.withLockedValue { $0.completedStreams } }
    var completionRequests: Int { state.withLockedValue { $0.completionRequests } }
    func force(_ behaviour: String?) { state.withLockedValue { $0.forcedBehaviour = behaviour } }

    static let promptTokens = 11
    var replyDeltas: [String] { ["Hello", " from", " \(name)"] }

    func run<Value: Sendable>(_ body: @Sendable (String) async throws -> Value) async throws -> Value {
        try await serveRoutes({ self.router() }) { root in try await body(root + "/v1") }
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/models") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"],
                     body: .init(byteBuffer: ByteBuffer(string: #"{"object":"list","data":[{"id":"double","object":"model"}]}"#)))
        }
        router.post("/v1/chat/completions") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 32 * 1024 * 1024)
            let json = (try JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            let behaviour = self.state.withLockedValue { state in
                state.requests.append(json)
                state.authorizations.append(request.headers[.authorization])
                return state.forcedBehaviour
            } ?? Self.lastUserText(json)
            return self.respond(behaviour: behaviour, json: json, request: request)
        }
        // The completions API: the prompt continued with the same three tokens, whole or streamed.
        router.post("/v1/completions") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 32 * 1024 * 1024)
            let json = (try JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            self.state.withLockedValue { state in
                state.requests.append(json)
                state.completionRequests += 1
            }
            let usage = ["prompt_tokens": Self.promptTokens, "completion_tokens": self.replyDeltas.count,
                         "total_tokens": Self.promptTokens + self.replyDeltas.count]
            guard json["stream"] as? Bool == true else {
                let answer: [String: Any] = [
                    "id": "cmpl-double", "object": "text_completion", "model": "double", "usage": usage,
                    "choices": [["index": 0, "text": self.replyDeltas.joined(), "finish_reason": "stop"]],
                ]
                return Response(status: .ok, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(data: try JSONSerialization.data(withJSONObject: answer))))
            }
            let events = self.replyDeltas.map { Self.chunk(["choices": [["index": 0, "text": $0, "finish_reason": NSNull()]]]) }
                + [Self.chunk(["choices": [["index": 0, "text": "", "finish_reason": "stop"]]]),
                   Self.chunk(["choices": [], "usage": usage]), ByteBuffer(string: "data: [DONE]\n\n")]
            return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                for event in events { try await writer.write(event) }
                try await writer.finish(nil)
            })
        }
        return router
    }

    private func respond(behaviour: String, json: [String: Any], request: Request) -> Response {
        switch behaviour {
        case "fail": return Self.error(.internalServerError, "model crashed at http://\(request.head.authority ?? "")/v1")
        case "busy": return Self.error(.tooManyRequests, "slow down")
        case "bad": return Self.error(.badRequest, "prompt is too long for this model")
        default: break
        }
        if json["stream"] as? Bool != true {
            return wholeAnswer(behaviour: behaviour, request: request)
        }
        let options = json["stream_options"] as? [String: Any]
        let includeUsage = (options?["include_usage"] as? Bool) == true && behaviour != "no-usage"
        // vLLM's `continuous_usage_stats`: the running usage in every chunk.
        let usageInEveryChunk = includeUsage && (options?["continuous_usage_stats"] as? Bool) == true
        let deltas = switch behaviour {
        case "slow": Array(repeating: "tick", count: 500)
        case "slow-short": Array(repeating: "tick", count: 50)
        default: replyDeltas
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
            do {
                // Watching for the client to leave closes the connection afterwards, so only the
                // long-running behaviours do it; the rest keep connections alive like real servers.
                if ["slow", "slow-short", "stall", "stall-mid"].contains(behaviour) {
                    try await request.body.consumeWithCancellationOnInboundClose { _ in
                        try await self.stream(behaviour: behaviour, deltas: deltas, includeUsage: includeUsage,
                                              usageInEveryChunk: usageInEveryChunk, to: &writer)
                    }
                } else {
                    try await self.stream(behaviour: behaviour, deltas: deltas, includeUsage: includeUsage,
                                          usageInEveryChunk: usageInEveryChunk, to: &writer)
                }
                self.state.withLockedValue { $0.completedStreams += 1 }
            } catch {
                // The client left: seen either as the inbound side closing (cancellation) or, when
                // a chunk was on its way at that moment, as the write failing. Counting only the
                // first made the client-leaves test fail about one run in ten under load.
                if !(error is DoubleError) { self.state.withLockedValue { $0.cancelledStreams += 1 } }
                if !(error is CancellationError) { throw error }
            }
        })
    }

    private func wholeAnswer(behaviour: String, request: Request) -> Response {
        let answer: [String: Any] = [
            "id": "chatcmpl-double", "object": "chat.completion", "model": "double",
            "choices": [["index": 0, "message": ["role": "assistant", "content": replyDeltas.joined()], "finish_reason": "stop"]],
            "usage": ["prompt_tokens": Self.promptTokens, "completion_tokens": replyDeltas.count,
                      "total_tokens": Self.promptTokens + replyDeltas.count],
        ]
        let json = try! JSONSerialization.data(withJSONObject: answer)
        return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
            switch behaviour {
            case "stall":
                _ = try? await request.body.consumeWithCancellationOnInboundClose { _ in
                    try await Task.sleep(for: .seconds(20))
                }
                return
            case "cut":
                try await writer.write(ByteBuffer(data: json.prefix(20)))
                throw DoubleError.cutConnection
            default:
                try await writer.write(ByteBuffer(data: json))
                try await writer.finish(nil)
            }
        })
    }

    private func stream(
        behaviour: String, deltas: [String], includeUsage: Bool, usageInEveryChunk: Bool,
        to writer: inout any ResponseBodyWriter
    ) async throws {
        if behaviour == "stall" {
            try await Task.sleep(for: .seconds(20))
        }
        for (index, delta) in deltas.enumerated() {
            if behaviour == "cut" && index == 2 {
                for await _ in cutSignals { break }
                throw DoubleError.cutConnection
            }
            if behaviour == "stall-mid" && index == 1 { try await Task.sleep(for: .seconds(20)) }
            if behaviour.hasPrefix("slow") { try await Task.sleep(for: .milliseconds(20)) }
            var chunk: [String: Any] = ["choices": [["index": 0, "delta": ["content": delta], "finish_reason": NSNull()]]]
            if usageInEveryChunk {
                chunk["usage"] = ["prompt_tokens": Self.promptTokens, "completion_tokens": index + 1,
                                  "total_tokens": Self.promptTokens + index + 1]
            }
            try await writer.write(Self.chunk(chunk))
        }
        try await writer.write(Self.chunk(["choices": [["index": 0, "delta": [:], "finish_reason": "stop"]]]))
        if includeUsage {
            try await writer.write(Self.chunk([
                "choices": [], "usage": ["prompt_tokens": Self.promptTokens, "completion_tokens": deltas.count,
                                         "total_tokens": Self.promptTokens + deltas.count],
            ]))
        }
        try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        try await writer.finish(nil)
    }

    enum DoubleError: Error { case cutConnection }

    static func chunk(_ object: [String: Any]) -> ByteBuffer {
        var full = object
        full["id"] = "chatcmpl-double"
        full["object"] = "chat.completion.chunk"
        full["model"] = "double"
        let data = try! JSONSerialization.data(withJSONObject: full)
        return ByteBuffer(string: "data: " + String(decoding: data, as: UTF8.self) + "\n\n")
    }

    static func error(_ status: HTTPResponse.Status, _ message: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"message":"\#(message)","type":"x"}}"#)))
    }

    static func lastUserText(_ json: [String: Any]) -> String {
        let messages = json["messages"] as? [[String: Any]] ?? []
        guard let last = messages.last(where: { $0["role"] as? String == "user" }) else { return "" }
        if let text = last["content"] as? String { return text }
        let parts = last["content"] as? [[String: Any]] ?? []
        return parts.compactMap { $0["text"] as? String }.joined()
    }
}
