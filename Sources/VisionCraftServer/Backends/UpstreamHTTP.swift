import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

/// Connection settings shared by every upstream server kind.
public struct UpstreamEndpoint: Sendable {
    /// The API root, such as `http://127.0.0.1:8000/v1` or `http://127.0.0.1:7860`.
    public var baseURL: String
    /// Sent as `Authorization: Bearer`; never logged.
    public var apiKey: String?
    /// Longest wait for the response head.
    public var requestTimeout: TimeAmount

    /// Host, port and path prefix when the upstream speaks plain HTTP; nil for HTTPS.
    let plainHTTP: (host: String, port: Int, pathPrefix: String)?

    public init(baseURL: String, apiKey: String?, requestTimeout: TimeAmount) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.apiKey = apiKey
        self.requestTimeout = requestTimeout
        if let url = URL(string: self.baseURL), url.scheme?.lowercased() == "http", let host = url.host {
            plainHTTP = (host, url.port ?? 80, url.path)
        } else {
            plainHTTP = nil
        }
    }

    func request(_ path: String, method: HTTPMethod, json: JSONValue? = nil) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers = headers(json: json != nil)
        if let json { request.body = .bytes(json.buffer) }
        return request
    }

    func headers(json: Bool) -> HTTPHeaders {
        var headers = HTTPHeaders()
        if let apiKey { headers.add(name: "Authorization", value: "Bearer \(apiKey)") }
        if json { headers.add(name: "Content-Type", value: "application/json") }
        return headers
    }

    /// The host alone, for backend ids in logs: no path, no credentials.
    var displayHost: String {
        URL(string: baseURL).map { "\($0.host ?? "?")\($0.port.map { ":\($0)" } ?? "")" } ?? "?"
    }
}

/// Turns what AsyncHTTPClient and upstream servers report into `BackendError`s. Messages reach
/// clients, so they are our own words: what went wrong, never where. What the upstream said goes
/// into the error's `detail`, for the log.
enum UpstreamFailure {
    static func from(_ error: any Error) -> BackendError {
        if let error = error as? BackendError { return error }
        let httpClientError = error as? HTTPClientError
        if httpClientError == .readTimeout || httpClientError == .deadlineExceeded
            || (error as? LoopLocalHTTPClient.Failure) == .timedOut
        {
            return BackendError(.timedOut, "The backend did not answer in time.", detail: "\(error)")
        }
        if error is CancellationError || httpClientError == .cancelled {
            return BackendError(.failed, "The request to the backend was cancelled.")
        }
        return BackendError(.unreachable, "The backend could not be reached.", detail: "\(error)")
    }

    static func from(status: HTTPResponseStatus, body: ByteBuffer?) -> BackendError {
        let detail = "status \(status.code)" + (body.flatMap { upstreamMessage(in: $0) }.map { ": \($0)" } ?? "")
        switch status.code {
        case 429, 503:
            return BackendError(.overloaded, "The backend is overloaded; try again shortly.", detail: detail)
        case 400, 413, 422:
            return BackendError(.rejected, "The backend refused the request.", detail: detail)
        default:
            return BackendError(.failed, "The backend failed.", detail: detail)
        }
    }

    /// The `error.message` (or `detail`) of an upstream error body, cut short for the log.
    static func upstreamMessage(in body: ByteBuffer) -> String? {
        guard let json = try? JSONValue.parse(body.readableBytesView) else { return nil }
        let message = json["error"]?["message"]?.stringValue ?? json["error"]?.stringValue
            ?? json["detail"]?.stringValue ?? json["message"]?.stringValue
        return message.map { String($0.prefix(300)) }
    }
}

extension HTTPClient {
    /// A client for one upstream: `read` is the longest silence tolerated mid-response, so a
    /// stalled stream ends as a timeout instead of hanging forever.
    static func upstream(connectTimeout: TimeAmount, readTimeout: TimeAmount) -> HTTPClient {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: connectTimeout, read: readTimeout)
        // Every request in flight holds an upstream connection for its whole generation, so the
        // default of 8 per host would queue the ninth concurrent stream behind the others.
        configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 512)
        return HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup, configuration: configuration)
    }
}
