import AsyncHTTPClient
import Foundation
import NIOCore

/// Reads an upstream's `text/event-stream` of chat chunks and turns it into `ChatEvent`s, one
/// upstream line at a time, only when asked.
final class UpstreamChatStreamReader: @unchecked Sendable {
    // @unchecked: an async iterator is driven by one task at a time; this class never escapes it.
    typealias Lines = NIODecodedAsyncSequence<HTTPClientResponse.Body, NIOSplitUTF8LinesMessageDecoder>
    private var lines: Lines.AsyncIterator
    private var pending: [ChatEvent] = []
    private var ended = false
    private var finished = false
    private let backend: String

    init(lines: Lines.AsyncIterator, backend: String) {
        self.lines = lines
        self.backend = backend
    }

    func next() async throws -> ChatEvent? {
        while pending.isEmpty {
            if ended { return nil }
            let line: String?
            do {
                line = try await lines.next()
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
        guard let chunk = try? JSONDecoder().decode(UpstreamChunk.self, from: Data(payload.utf8)) else {
            ended = true
            throw BackendError(.failed, "The backend sent a malformed stream chunk.")
        }
        if let error = chunk.error {
            ended = true
            throw BackendError(.failed, "The backend failed mid-stream: \(error.message ?? "unknown error").")
        }
        for choice in chunk.choices ?? [] {
            if let content = choice.delta?.content ?? choice.message?.content, !content.isEmpty {
                pending.append(.delta(content))
            }
            if let reason = choice.finish_reason, !finished {
                finished = true
                pending.append(.finished(reason: reason))
            }
        }
        if let usage = chunk.usage, let prompt = usage.prompt_tokens, let completion = usage.completion_tokens {
            pending.append(.usage(promptTokens: prompt, completionTokens: completion))
        }
    }
}

/// The parts of an OpenAI stream chunk we read; everything else is ignored.
struct UpstreamChunk: Decodable {
    struct Choice: Decodable {
        struct Delta: Decodable {
            var content: String?
        }

        var delta: Delta?
        var message: Delta?
        var finish_reason: String?
    }

    struct Usage: Decodable {
        var prompt_tokens: Int?
        var completion_tokens: Int?
    }

    struct ErrorBody: Decodable {
        var message: String?
    }

    var choices: [Choice]?
    var usage: Usage?
    var error: ErrorBody?
}
