import NIOCore
import NIOHTTP1
import NIOPosix
import Testing
@testable import VisionCraftServer

/// The whole-answer upstream client against hand-written HTTP/1.1 on a real socket.
@Suite struct LoopLocalHTTPClientTests {
    private func client(port: Int, readTimeout: TimeAmount = .seconds(5)) -> LoopLocalHTTPClient {
        LoopLocalHTTPClient(host: "127.0.0.1", port: port, connectTimeout: .seconds(2), readTimeout: readTimeout)
    }

    private func post(_ client: LoopLocalHTTPClient) async throws -> LoopLocalHTTPClient.Response {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: "application/json")
        return try await client.send(
            .POST, "/v1/chat/completions", headers: headers, body: ByteBuffer(string: #"{"q":1}"#),
            headTimeout: .seconds(5))
    }

    @Test func keptAliveConnectionsCarryOneExchangeAfterAnother() async throws {
        let upstream = RawHTTPUpstreamDouble(.keepAlive)
        try await upstream.run { port in
            let client = client(port: port)
            for _ in 0..<12 {
                let response = try await post(client)
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == RawHTTPUpstreamDouble.body)
            }
            client.shutdown()
        }
        #expect(upstream.requests == 12)
        // Connections belong to event loops, and this test's task is on none, so each request may
        // land on any loop: at most one connection per loop, never one per request.
        let loops = Array(MultiThreadedEventLoopGroup.singleton.makeIterator()).count
        #expect(upstream.connections <= min(loops, 11))
    }

    /// An upstream that drops a kept-alive connection without saying so, after the next request
    /// went out on it, and one that says `Connection: close`: every request still succeeds, each
    /// answered on a new connection.
    @Test(arguments: [RawHTTPUpstreamDouble.Behaviour.dropAfterResponse, .connectionClose])
    func closedConnectionsAreReplacedWithoutFailingARequest(_ behaviour: RawHTTPUpstreamDouble.Behaviour) async throws {
        let upstream = RawHTTPUpstreamDouble(behaviour)
        try await upstream.run { port in
            let client = client(port: port)
            for _ in 0..<3 {
                let response = try await post(client)
                #expect(String(buffer: response.body) == RawHTTPUpstreamDouble.body)
            }
        }
        #expect(upstream.requests == 3)
        #expect(upstream.connections == 3)
    }

    @Test func chunkedBodiesArriveWhole() async throws {
        let upstream = RawHTTPUpstreamDouble(.chunked)
        try await upstream.run { port in
            let response = try await post(client(port: port))
            #expect(String(buffer: response.body) == RawHTTPUpstreamDouble.body)
        }
    }

    @Test func silenceEndsAsATimeout() async throws {
        let upstream = RawHTTPUpstreamDouble(.silent)
        try await upstream.run { port in
            let started = ContinuousClock.now
            await #expect(throws: LoopLocalHTTPClient.Failure.timedOut) {
                try await post(client(port: port, readTimeout: .milliseconds(300)))
            }
            // Without the timeout the silent double would hold the request forever; the bound is
            // generous because a loaded CI machine can pause a process for seconds.
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }

    @Test func aRefusedConnectionFails() async throws {
        await #expect(throws: (any Error).self) { try await post(client(port: 1)) }
    }

    @Test func cancellingTheTaskEndsTheExchange() async throws {
        let upstream = RawHTTPUpstreamDouble(.silent)
        try await upstream.run { port in
            let client = client(port: port, readTimeout: .seconds(30))
            let task = Task { try await post(client) }
            // The request has reached the upstream: the exchange is under way.
            #expect(await eventually(timeout: .seconds(30)) { upstream.requests == 1 })
            task.cancel()
            let started = ContinuousClock.now
            await #expect(throws: CancellationError.self) { try await task.value }
            // Without the timeout the silent double would hold the request forever; the bound is
            // generous because a loaded CI machine can pause a process for seconds.
            #expect(ContinuousClock.now - started < .seconds(30))
        }
    }
}
