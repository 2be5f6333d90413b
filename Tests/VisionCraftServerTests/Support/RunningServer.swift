import AsyncHTTPClient
import NIOHTTP1
import Foundation
import Hummingbird
import Logging
import NIOCore
import ServiceLifecycle

/// Runs an application on a real loopback port for the duration of `body`, then shuts it down
/// gracefully, as the live tests and the upstream doubles need.
func withRunningServer<App: ApplicationProtocol, Value: Sendable>(
    gracePeriod: Duration? = nil,
    _ makeApplication: (@escaping @Sendable (Int) async -> Void) -> App,
    _ body: @Sendable (Int) async throws -> Value
) async throws -> Value {
    let (ports, continuation) = AsyncStream<Int>.makeStream()
    let application = makeApplication { port in continuation.yield(port) }
    var configuration = ServiceGroupConfiguration(services: [application], logger: Logger(label: "test"))
    // As `shutdown_grace_seconds` does for the server: past it, what still runs is cancelled.
    configuration.maximumGracefulShutdownDuration = gracePeriod
    let group = ServiceGroup(configuration: configuration)
    return try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        var iterator = ports.makeAsyncIterator()
        guard let port = await iterator.next() else { throw CancellationError() }
        do {
            let value = try await body(port)
            await group.triggerGracefulShutdown()
            try await tasks.waitForAll()
            return value
        } catch {
            await group.triggerGracefulShutdown()
            tasks.cancelAll()
            throw error
        }
    }
}

/// A plain HTTP client for live tests: it reads what a real client would, streams included.
/// Each request has a connection of its own: test servers come and go on ephemeral ports, and a
/// pooled connection to a server that has gone could be handed to a new one on the same port.
enum LiveClient {
    static let shared = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)

    static func post(_ url: String, json: String, key: String? = nil) async throws -> (status: Int, headers: HTTPHeaders, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "Connection", value: "close")
        if let key { request.headers.add(name: "Authorization", value: "Bearer \(key)") }
        request.body = .bytes(ByteBuffer(string: json))
        let response = try await shared.execute(request, timeout: .seconds(30))
        let body = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return (Int(response.status.code), response.headers, body)
    }

    /// A chat request whose answer the caller reads as it streams in (`response.body`).
    static func streamingChat(_ server: String, key: String, _ fields: [String: Any]) async throws -> HTTPClientResponse {
        var request = HTTPClientRequest(url: "\(server)/v1/chat/completions")
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(key)")
        request.body = .bytes(ByteBuffer(string: body(fields)))
        return try await shared.execute(request, timeout: .seconds(30))
    }

    static func get(_ url: String) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "Connection", value: "close")
        let response = try await shared.execute(request, timeout: .seconds(30))
        return (Int(response.status.code), try await response.body.collect(upTo: 16 * 1024 * 1024))
    }
}

extension ByteBuffer {
    var string: String { String(buffer: self) }
    var json: JSONValueForTests { JSONValueForTests(try! JSONSerialization.jsonObject(with: Data(readableBytesView), options: [.fragmentsAllowed])) }
}

/// Loose JSON access for assertions.
struct JSONValueForTests {
    let raw: Any?
    init(_ raw: Any?) { self.raw = raw }
    subscript(key: String) -> JSONValueForTests { JSONValueForTests((raw as? [String: Any])?[key]) }
    subscript(index: Int) -> JSONValueForTests {
        guard let array = raw as? [Any], index < array.count else { return JSONValueForTests(nil) }
        return JSONValueForTests(array[index])
    }
    var string: String? { raw as? String }
    var int: Int? { (raw as? NSNumber)?.intValue }
    var double: Double? { (raw as? NSNumber)?.doubleValue }
    var array: [JSONValueForTests]? { (raw as? [Any])?.map(JSONValueForTests.init) }
    var strings: [String]? { raw as? [String] }
    var isNull: Bool { raw is NSNull }
    var exists: Bool { raw != nil }
}

/// A test double's routes served on a loopback port for the duration of `body`, which gets the
/// server's root URL.
func serveRoutes<Value: Sendable>(
    _ router: @escaping @Sendable () -> Router<BasicRequestContext>, _ body: @Sendable (String) async throws -> Value
) async throws -> Value {
    try await withRunningServer({ onPort in
        Application(router: router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                    onServerRunning: { await onPort($0.localAddress!.port!) })
    }) { port in try await body("http://127.0.0.1:\(port)") }
}
