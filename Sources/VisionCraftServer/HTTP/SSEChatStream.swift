import Foundation
import Hummingbird

/// Relays backend events to a client as OpenAI-style server-sent events, ending in
/// `data: [DONE]`. Each write waits for the client, so a slow reader slows the backend down.
struct SSEChatStream: Sendable {
    let chat: ChatCompletionRequest
    let wire: ChatCompletionWire

    struct Outcome: Sendable {
        var status: Int
        var tokens: TokenCount
        var backendFailure: BackendError.Kind?
    }

    func relay(_ events: ChatEventStream, to writer: inout any ResponseBodyWriter) async -> Outcome {
        var outcome = Outcome(status: 200, tokens: TokenCount())
        let includeUsage = chat.includeUsageInStream
        var iterator = events.makeAsyncIterator()
        do {
            try await write(wire.chunk(delta: ["role": "assistant", "content": ""], finishReason: nil,
                                       includeUsage: includeUsage), to: &writer)
            while true {
                let event: ChatEvent?
                do {
                    event = try await iterator.next()
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    let failure = (error as? BackendError) ?? BackendError(.failed, "The backend failed.")
                    outcome.status = failure.apiError.status.code
                    outcome.backendFailure = failure.kind
                    // The head is sent already, so the failure travels as an error event.
                    try await write(failure.apiError.errorBody, to: &writer)
                    return outcome
                }
                guard let event else { break }
                outcome.tokens.observe(event)
                switch event {
                case .delta(let text):
                    try await write(wire.chunk(delta: ["content": .string(text)], finishReason: nil,
                                               includeUsage: includeUsage), to: &writer)
                case .finished(let reason):
                    try await write(wire.chunk(delta: [:], finishReason: reason, includeUsage: includeUsage),
                                    to: &writer)
                case .usage:
                    break
                }
            }
            if includeUsage { try await write(wire.usageChunk(outcome.tokens), to: &writer) }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        } catch {
            outcome.status = UsageRecord.clientClosedStatus
        }
        return outcome
    }

    private func write(_ value: JSONValue, to writer: inout any ResponseBodyWriter) async throws {
        var buffer = ByteBuffer(string: "data: ")
        buffer.writeData(JSONEncoding.encode(value))
        buffer.writeString("\n\n")
        try await writer.write(buffer)
    }
}

extension APIError {
    var errorBody: JSONValue {
        ["error": ["message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null,
                   "code": code.map(JSONValue.string) ?? .null]]
    }
}
