import Foundation
import NIOCore

/// OpenAI's chat completion JSON shapes, for whole answers and for stream chunks; or, for the
/// completions API, its `text_completion` shapes (the text in `choices[].text`, no roles).
struct ChatCompletionWire {
    enum Kind: Sendable {
        case chat, text
    }

    let id: String
    let created: Int
    let model: String
    let kind: Kind

    init(model: String, now: Date, kind: Kind = .chat) {
        self.id = (kind == .chat ? "chatcmpl-" : "cmpl-") + Self.hex(UInt64.random(in: .min ... .max))
            + Self.hex(UInt64.random(in: .min ... .max))
        self.created = Int(now.timeIntervalSince1970)
        self.model = model
        self.kind = kind
    }

    /// 16 lower-case hex digits; Foundation's UUID formatting cost a few percent of a request.
    private static func hex(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    func completion(content: String, finishReason: String, usage: TokenCount) -> JSONValue {
        var choice: [String: JSONValue] = ["index": 0, "logprobs": .null, "finish_reason": .string(finishReason)]
        switch kind {
        case .chat: choice["message"] = ["role": "assistant", "content": .string(content)]
        case .text: choice["text"] = .string(content)
        }
        return [
            "id": .string(id), "object": kind == .chat ? "chat.completion" : "text_completion",
            "created": .number(Double(created)), "model": .string(model), "system_fingerprint": .null,
            "choices": [.object(choice)], "usage": usage.json,
        ]
    }

    /// A stream chunk with one choice. With `include_usage`, every chunk carries `usage: null`
    /// and a last chunk with no choices carries the totals, as OpenAI does.
    func chunk(delta: JSONValue, finishReason: String?, includeUsage: Bool) -> JSONValue {
        var chunk = envelope(includeUsage: includeUsage)
        var choice: [String: JSONValue] = [
            "index": 0, "logprobs": .null, "finish_reason": finishReason.map(JSONValue.string) ?? .null,
        ]
        switch kind {
        case .chat: choice["delta"] = delta
        case .text: choice["text"] = delta["content"] ?? ""
        }
        chunk["choices"] = [.object(choice)]
        return .object(chunk)
    }

    /// The SSE event of a content chunk, rendered once per stream around a marker and then filled
    /// in per token: a token costs one escaped string and two copies, not a dictionary tree and
    /// its sorted keys. The bytes are exactly `chunk(delta: ["content": text], …)`'s.
    struct ContentEvent {
        private let prefix: ByteBuffer
        private let suffix: ByteBuffer

        init(wire: ChatCompletionWire, includeUsage: Bool) {
            let marker = "\u{1}content\u{1}"
            var rendered = ByteBuffer(string: "data: ")
            JSONWriter.write(wire.chunk(delta: ["content": .string(marker)], finishReason: nil, includeUsage: includeUsage),
                             into: &rendered)
            rendered.writeString("\n\n")
            var encodedMarker = ByteBuffer()
            JSONWriter.writeString(marker, into: &encodedMarker)
            let bytes = Array(rendered.readableBytesView), needle = Array(encodedMarker.readableBytesView)
            let start = (0...(bytes.count - needle.count)).first { bytes[$0..<$0 + needle.count].elementsEqual(needle) }!
            prefix = ByteBuffer(bytes: bytes[..<start])
            suffix = ByteBuffer(bytes: bytes[(start + needle.count)...])
        }

        func event(_ text: String) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.reserveCapacity(prefix.readableBytes + suffix.readableBytes + text.utf8.count + 8)
            buffer.writeImmutableBuffer(prefix)
            JSONWriter.writeString(text, into: &buffer)
            buffer.writeImmutableBuffer(suffix)
            return buffer
        }
    }

    func usageChunk(_ usage: TokenCount) -> JSONValue {
        var chunk = envelope(includeUsage: true)
        chunk["choices"] = []
        chunk["usage"] = usage.json
        return .object(chunk)
    }

    private func envelope(includeUsage: Bool) -> [String: JSONValue] {
        var chunk: [String: JSONValue] = [
            "id": .string(id), "object": kind == .chat ? "chat.completion.chunk" : "text_completion",
            "created": .number(Double(created)),
            "model": .string(model), "system_fingerprint": .null,
        ]
        if includeUsage { chunk["usage"] = .null }
        return chunk
    }
}

/// Token usage of one generation. Exact when the backend reports it; otherwise the completion
/// side counts the deltas streamed, one token each, as upstream servers send them.
struct TokenCount: Sendable, Equatable {
    var prompt = 0
    var completion = 0
    var cached = 0
    var reportedByBackend = false

    mutating func observe(_ event: ChatEvent) {
        switch event {
        case .delta:
            if !reportedByBackend { completion += 1 }
        case .promptTokens(let prompt):
            if !reportedByBackend { self.prompt = prompt }
        case .usage(let prompt, let completion, let cached):
            self.prompt = prompt
            self.completion = completion
            self.cached = cached
            reportedByBackend = true
        case .finished:
            break
        }
    }

    var json: JSONValue {
        ["prompt_tokens": .number(Double(prompt)), "completion_tokens": .number(Double(completion)),
         "total_tokens": .number(Double(prompt + completion)),
         "prompt_tokens_details": ["cached_tokens": .number(Double(cached))]]
    }
}
