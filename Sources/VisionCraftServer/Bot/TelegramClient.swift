import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Why a Bot API call did not succeed.
enum TelegramError: Error, Equatable {
    /// No answer, or a 5xx: worth retrying.
    case unavailable(String)
    /// 429: retry after this many seconds.
    case rateLimited(retryAfter: Int)
    /// Telegram refused the call (a 4xx other than 429): retrying will not help.
    case refused(code: Int, description: String)

    var isRetryable: Bool {
        if case .refused = self { return false }
        return true
    }
}

/// The Telegram Bot API over HTTPS: JSON in, `{"ok": …, "result": …}` out. The base URL is
/// configurable so a local double can stand in for Telegram.
struct TelegramClient: Sendable {
    let http: HTTPClient
    let baseURL: String
    let token: String
    /// What backoffs wait on: the real clock, or in tests one that runs faster.
    let clock: any Clock<Duration>
    let logger: Logger

    func call(_ method: String, _ parameters: [String: JSONValue], timeout: Duration = .seconds(30)) async throws(TelegramError) -> JSONValue {
        var request = HTTPClientRequest(url: "\(baseURL)/bot\(token)/\(method)")
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(JSONValue.object(parameters).buffer)
        let body: JSONValue
        let status: Int
        do {
            let response = try await http.execute(request, timeout: .seconds(Int64(timeout.components.seconds) + 10))
            status = Int(response.status.code)
            let bytes = try await response.body.collect(upTo: 8 * 1024 * 1024)
            body = (try? JSONValue.parse(bytes.readableBytesView)) ?? .null
        } catch {
            throw .unavailable("\(method): \(type(of: error))")
        }
        if body["ok"] == .bool(true), let result = body["result"] { return result }
        let description = body["description"]?.stringValue ?? "HTTP \(status)"
        if status == 429 || body["error_code"]?.intValue == 429 {
            throw .rateLimited(retryAfter: body["parameters"]?["retry_after"]?.intValue ?? 1)
        }
        if status >= 500 || status == 0 { throw .unavailable("\(method): \(description)") }
        throw .refused(code: body["error_code"]?.intValue ?? status, description: description)
    }

    /// `call`, retried with exponential backoff (or Telegram's `retry_after`) while Telegram is
    /// down or throttling, until it answers or the task is cancelled.
    func callRetrying(_ method: String, _ parameters: [String: JSONValue], timeout: Duration = .seconds(30)) async throws -> JSONValue {
        var backoff = Backoff(maximum: .seconds(30))
        while true {
            do {
                return try await call(method, parameters, timeout: timeout)
            } catch {
                guard error.isRetryable else { throw error }
                let wait: Duration
                if case .rateLimited(let retryAfter) = error { wait = .seconds(retryAfter) } else { wait = backoff.take() }
                logger.warning("Telegram Bot API unavailable; retrying", metadata: [
                    "method": "\(method)", "error": "\(error)", "retry_in_seconds": "\(wait.components.seconds)",
                ])
                try await clock.sleep(for: wait)
            }
        }
    }
}
