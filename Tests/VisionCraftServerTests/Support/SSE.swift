import Foundation
import NIOCore

/// Splits a server-sent-event body into its `data:` payloads, as an SSE client would.
func sseEvents(_ body: ByteBuffer) -> [String] {
    body.string.components(separatedBy: "\n\n").compactMap { block in
        block.split(separator: "\n").first { $0.hasPrefix("data: ") }.map { String($0.dropFirst(6)) }
    }
}

func jsonObject(_ text: String) -> JSONValueForTests {
    JSONValueForTests(try? JSONSerialization.jsonObject(with: Data(text.utf8)))
}

/// Polls until `condition` holds, for effects that land asynchronously (a cancelled upstream).
func eventually(timeout: Duration = .seconds(5), _ condition: @Sendable () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
