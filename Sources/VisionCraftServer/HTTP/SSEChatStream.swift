import Foundation
import Hummingbird
import NIOConcurrencyHelpers

/// Relays backend events to a client as OpenAI-style server-sent events, ending in
/// `data: [DONE]`. Each write waits for the client, so a slow reader slows the backend down.
struct SSEChatStream: Sendable {
    let chat: ChatCompletionRequest
    let wire: ChatCompletionWire
    let requestID: String

    struct Outcome: Sendable {
        var status = 200
        var tokens = TokenCount()
        var backendFailure: BackendError?
    }

    /// How far a stream got. Kept outside the relay because a client that hangs up cancels the
    /// relay mid-way, and the tokens produced until then must still be recorded.
    final class Progress: Sendable {
        private let state = NIOLockedValueBox(Outcome())
        var outcome: Outcome { state.withLockedValue { $0 } }
        func update(_ change: (inout Outcome) -> Void) { state.withLockedValue { change(&$0) } }
    }

    func relay(_ events: ChatEventStream, to writer: inout any ResponseBodyWriter, progress: Progress) async {
        let includeUsage = chat.includeUsageInStream
        let content = ChatCompletionWire.ContentEvent(wire: wire, includeUsage: includeUsage)
        var iterator = events.makeAsyncIterator()
        do {
            // A chat stream opens with the assistant's role; the completions API has no roles.
            if wire.kind == .chat {
                try await write(wire.chunk(delta: ["role": "assistant", "content": ""], finishReason: nil,
                                           includeUsage: includeUsage), to: &writer)
            }
            while true {
                let event: ChatEvent?
                do {
                    event = try await iterator.next()
                } catch {
                    if Task.isCancelled { throw CancellationError() }
                    let failure = (error as? BackendError)
                        ?? BackendError(.failed, "The backend failed.", detail: "\(error)")
                    progress.update {
                        $0.status = failure.apiError().status.code
                        $0.backendFailure = failure
                    }
                    // The head is sent already, so the failure travels as an error event.
                    try await write(failure.apiError().naming(requestID: requestID).errorBody, to: &writer)
                    return
                }
                guard let event else { break }
                // Events already waiting go out with this one, in one write: a reader that fell
                // behind catches up with one wake-up of the event loop, not one a token.
                var out = ByteBuffer()
                var next: ChatEvent? = event
                while let event = next {
                    progress.update { $0.tokens.observe(event) }
                    switch event {
                    case .delta(let text):
                        out.writeImmutableBuffer(content.event(text))
                    case .finished(let reason):
                        Self.append(wire.chunk(delta: [:], finishReason: reason, includeUsage: includeUsage), to: &out)
                    case .promptTokens, .usage:
                        break
                    }
                    next = events.readyEvent()
                }
                if out.readableBytes > 0 { try await writer.write(out) }
            }
            if includeUsage { try await write(wire.usageChunk(progress.outcome.tokens), to: &writer) }
            try await writer.write(ByteBuffer(string: "data: [DONE]\n\n"))
        } catch {
            // The client is gone (a write failed, or its leaving cancelled this task): the backend
            // must stop now, not when this stream is released.
            events.cancel()
            progress.update { $0.status = UsageRecord.clientClosedStatus }
        }
    }

    private func write(_ value: JSONValue, to writer: inout any ResponseBodyWriter) async throws {
        var buffer = ByteBuffer()
        Self.append(value, to: &buffer)
        try await writer.write(buffer)
    }

    private static func append(_ value: JSONValue, to buffer: inout ByteBuffer) {
        buffer.writeString("data: ")
        JSONWriter.write(value, into: &buffer)
        buffer.writeString("\n\n")
    }
}

extension APIError {
    var errorBody: JSONValue {
        ["error": ["message": .string(message), "type": .string(type), "param": param.map(JSONValue.string) ?? .null,
                   "code": code.map(JSONValue.string) ?? .null]]
    }
}
