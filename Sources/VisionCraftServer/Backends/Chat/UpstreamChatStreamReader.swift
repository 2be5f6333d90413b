import AsyncHTTPClient
import Foundation
import NIOCore

/// Reads an upstream's `text/event-stream` of chat chunks and turns it into `ChatEvent`s, one
/// upstream line at a time, only when asked.
final class UpstreamChatStreamReader: @unchecked Sendable {
    // @unchecked: an async iterator is driven by one task at a time; this class never escapes it.
    typealias Lines = NIODecodedAsyncSequence<HTTPClientResponse.Body, NIOSplitUTF8LinesMessageDecoder>
    private var lines: Lines.AsyncIterator?
    private var pending: [ChatEvent] = []
    private var ended = false
    private var finished = false
    init(lines: Lines.AsyncIterator) {
        self.lines = lines
    }

    /// Releases the upstream response: AsyncHTTPClient cancels a request whose body nobody reads,
    /// which closes the connection, and the upstream stops generating.
    func abandon() {
        lines = nil
        ended = true
        pending.removeAll()
    }

    func next() async throws -> ChatEvent? {
        while pending.isEmpty {
            if ended { return nil }
            let line: String?
            do {
                line = try await lines?.next()
            } catch {
                ended = true
                throw UpstreamFailure.from(error)
            }
            guard let line else {
                ended = true
                guard finished else {
                    throw BackendError(.failed, "The backend ended the stream before the answer was complete.")
                }
                return nil
            }
            try consume(line)
        }
        return pending.removeFirst()
    }

    private func consume(_ rawLine: String) throws {
        let line = rawLine.hasSuffix("\r") ? String(rawLine.dropLast()) : rawLine
        guard line.hasPrefix("data:") else { return }  // comments, `event:`, `id:`, blank lines
        let payload = line.dropFirst(5).drop { $0 == " " }
        if payload == "[DONE]" {
            ended = true
            if !finished {
                finished = true
                pending.append(.finished(reason: "stop"))
            }
            return
        }
        guard let chunk = (try? JSONValue.parse(String(payload))).map(UpstreamChunk.init(json:)) else {
            ended = true
            throw BackendError(.failed, "The backend sent a malformed stream chunk.")
        }
        if chunk.isError {
            ended = true
            throw BackendError(.failed, "The backend failed mid-stream.", detail: chunk.errorMessage)
        }
        let events = chunk.events(alreadyFinished: finished)
        if events.contains(where: { if case .finished = $0 { true } else { false } }) { finished = true }
        pending.append(contentsOf: events)
    }
}

/// The parts of an OpenAI chat completion or stream chunk we read; everything else is ignored.
struct UpstreamChunk {
    struct Choice {
        var content: String?
        var finishReason: String?
    }

    var choices: [Choice]
    var promptTokens: Int?
    var completionTokens: Int?
    /// Set when the upstream reports a failure inside a 200 answer or stream.
    var errorMessage: String?
    var isError: Bool

    init(json: JSONValue) {
        choices = (json["choices"]?.arrayValue ?? []).map { choice in
            Choice(
                // Chat chunks and answers, or `text` in the completions API's.
                content: choice["delta"]?["content"]?.stringValue ?? choice["message"]?["content"]?.stringValue
                    ?? choice["text"]?.stringValue,
                finishReason: choice["finish_reason"]?.stringValue)
        }
        // llama.cpp's server reports the prompt in `timings` (asked for with `timings_per_token`).
        promptTokens = json["usage"]?["prompt_tokens"]?.intValue ?? json["timings"]?["prompt_n"]?.intValue
        completionTokens = json["usage"]?["completion_tokens"]?.intValue
        let error = json["error"]
        isError = error != nil && error != .null
        errorMessage = error?["message"]?.stringValue ?? error?.stringValue
    }

    /// The events this chunk carries, in stream order.
    func events(alreadyFinished: Bool) -> [ChatEvent] {
        var events: [ChatEvent] = []
        var finished = alreadyFinished
        for choice in choices {
            if let content = choice.content, !content.isEmpty { events.append(.delta(content)) }
            if let reason = choice.finishReason, !finished {
                finished = true
                events.append(.finished(reason: reason))
            }
        }
        if let promptTokens, let completionTokens {
            events.append(.usage(promptTokens: promptTokens, completionTokens: completionTokens))
        } else if let promptTokens {
            events.append(.promptTokens(promptTokens))
        }
        return events
    }
}
