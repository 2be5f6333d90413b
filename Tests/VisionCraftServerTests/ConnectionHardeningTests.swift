import Foundation
import NIOCore
import Testing
@testable import VisionCraftServer

/// What a hostile or careless client does at the connection level: reuse a connection after a
/// stream, send malformed chunking or no Host, dribble a request, send huge bodies with no key.
@Suite struct ConnectionHardeningTests {
    /// Short limits, so each timeout shows within a second or two.
    static func quickTimeouts() -> ServerConfiguration {
        var section = ServerConfiguration.ServerSection()
        section.headerTimeoutSeconds = 0.5
        section.keepAliveTimeoutSeconds = 0.8
        section.bodyTimeoutSeconds = 0.5
        section.minBodyBytesPerSecond = 1000
        return ServerConfiguration(server: section)
    }

    static func port(_ server: String) -> Int { Int(server.split(separator: ":").last!)! }

    /// What the live server answers to `raw`, sent as it is on a connection of its own.
    static func answer(_ environment: TestEnvironment, to raw: String) async throws -> RawHTTPConnection.Response {
        try await environment.live { server in
            let connection = try await RawHTTPConnection.connect(port: port(server))
            defer { connection.close() }
            try await connection.send(raw)
            return try #require(try await connection.readResponse())
        }
    }

    @Test func aConnectionStaysUsableAfterAStream() async throws {
        try await withChatUpstream(.tier2) { _, environment, key in
            try await environment.live { server in
                let connection = try await RawHTTPConnection.connect(port: Self.port(server))
                defer { connection.close() }
                let stream = body(["model": "test-model", "messages": hello, "stream": true])
                for round in 0..<3 {
                    try await connection.post("/v1/chat/completions", json: stream, headers: ["Authorization: Bearer \(key)"])
                    let response = try #require(try await connection.readResponse(), "round \(round): connection closed")
                    #expect(response.status == 200)
                    #expect(response.body.hasSuffix("data: [DONE]\n\n"))
                    #expect(response.header("Connection")?.lowercased() != "close")
                }
                try await connection.post("/v1/chat/completions", json: body(["model": "test-model", "messages": hello]),
                                          headers: ["Authorization: Bearer \(key)"])
                #expect(try await connection.readResponse()?.status == 200, "a whole answer after the streams")
            }
        }
    }

    @Test func aMalformedChunkedBodyIs400() async throws {
        let environment = try await TestEnvironment.make()
        let (key, _) = try await environment.mintKey()
        let response = try await Self.answer(environment, to: "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Bearer \(key)\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n")
        #expect(response.status == 400)
        #expect(jsonObject(response.body)["error"]["code"].string == "malformed_body")
    }

    @Test func aRequestWithoutHostIs400() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.live { server in
            let connection = try await RawHTTPConnection.connect(port: Self.port(server))
            defer { connection.close() }
            try await connection.send("GET /limits HTTP/1.1\r\n\r\n")
            let response = try #require(try await connection.readResponse())
            #expect(response.status == 400)
            #expect(jsonObject(response.body)["error"]["code"].string == "missing_host")
            try await connection.send("GET /limits HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            #expect(try await connection.readResponse()?.status == 200)
        }
    }

    @Test(arguments: [
        ("half a head", "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"),
        ("nothing at all", ""),
        ("a body a byte at a time", "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5000\r\n\r\n{"),
    ])
    func aSlowOrSilentClientLosesItsConnection(_ name: String, _ sent: String) async throws {
        let environment = try await TestEnvironment.make(configuration: Self.quickTimeouts())
        try await environment.live { server in
            // From before the connection exists: the server's clock for it cannot start earlier,
            // however long this task waits for the processor after connecting.
            let started = ContinuousClock.now
            let connection = try await RawHTTPConnection.connect(port: Self.port(server))
            defer { connection.close() }
            if !sent.isEmpty {
                do {
                    try await connection.send(sent)
                } catch ChannelError.ioOnClosedChannel {
                    // This task waited for the processor longer than the server's timeout: the
                    // server has closed the connection already, which is what is tested.
                }
            }
            #expect(try await connection.isClosedByServer(within: .seconds(10)), "\(name)")
            #expect(ContinuousClock.now - started >= .milliseconds(400), "not before the timeout")
        }
    }

    @Test func aKeyInTheHeaderIsCheckedBeforeTheBodyIsRead() async throws {
        let environment = try await TestEnvironment.make()
        // The head announces 10 MB that never come: the answer cannot wait for them.
        let response = try await Self.answer(environment, to: "POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            + "Authorization: Bearer vc_not_a_key\r\nContent-Length: 10000000\r\n\r\n")
        #expect(response.status == 401)
        #expect(response.header("Connection")?.lowercased() == "close")
    }

    @Test func bodiesWithTheKeyInsideShareABoundedBudget() async throws {
        var section = ServerConfiguration.ServerSection(maxBodyBytes: 2000)
        section.unauthenticatedBodyBytes = 2000
        let environment = try await TestEnvironment.make(configuration: ServerConfiguration(server: section))
        let (key, _) = try await environment.mintKey(.tier2)
        let budget = environment.services.unauthenticatedBodies
        try await environment.live { server in
            // The first request's body is half sent: it holds the whole length it declared…
            let request = body(["model": "nothing", "messages": hello, "token": key, "padding": String(repeating: "x", count: 1500)])
            let first = try await RawHTTPConnection.connect(port: Self.port(server))
            defer { first.close() }
            let bytes = Array(request.utf8)
            try await first.send("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: \(bytes.count)\r\n\r\n"
                + String(decoding: bytes.prefix(1200), as: UTF8.self))
            #expect(await eventually { budget.bytesInUse == bytes.count })
            // …so a second one that needs more than what is left is turned away at once.
            let second = try await RawHTTPConnection.connect(port: Self.port(server))
            defer { second.close() }
            try await second.post("/v1/chat/completions", json: request)
            let refused = try #require(try await second.readResponse())
            #expect(refused.status == 503)
            #expect(refused.header("Retry-After") == "1")
            #expect(jsonObject(refused.body)["error"]["code"].string == "server_busy")
            // The first finishes and is served as usual; the budget is whole again.
            try await first.send(String(decoding: bytes.dropFirst(1200), as: UTF8.self))
            let answered = try #require(try await first.readResponse())
            #expect(answered.status == 400, "authenticated, then refused for its unknown model: \(answered.body)")
            #expect(jsonObject(answered.body)["error"]["code"].string == "model_not_found")
            #expect(budget.bytesInUse == 0)
        }
    }
}

/// The connection guard's rules, without a socket.
@Suite struct ConnectionGuardStateMachineTests {
    let timeouts = ConnectionTimeouts(header: .seconds(10), keepAlive: .seconds(60), bodyGrace: .seconds(5),
                                      minimumBodyRate: 1000)
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000)

    @Test func anIdleConnectionHasTheKeepAliveTimeUntilBytesCome() {
        var machine = ConnectionGuard.StateMachine(timeouts: timeouts, now: start)
        #expect(machine.deadline == start + .seconds(60))
        machine.bytesArrived(now: start + .seconds(3))
        #expect(machine.deadline == start + .seconds(13), "half a head: the header timeout, from its first bytes")
        #expect(!machine.hasExpired(now: start + .seconds(12)))
        #expect(machine.hasExpired(now: start + .seconds(13)))
    }

    @Test func aBodyEarnsTimeByTheBytesItBrings() {
        var machine = ConnectionGuard.StateMachine(timeouts: timeouts, now: start)
        machine.headArrived(now: start)
        #expect(machine.deadline == start + .seconds(5))
        machine.bodyArrived(bytes: 3000)
        #expect(machine.deadline == start + .seconds(8))
        machine.requestEnded(now: start + .seconds(2))
        #expect(machine.deadline == nil, "no limit on how long an answer takes")
        machine.responseEnded(now: start + .seconds(100))
        #expect(machine.deadline == start + .seconds(160), "idle again after the answer")
    }

    @Test func anAnswerBeforeTheBodyLeavesTheBodyTimed() {
        var machine = ConnectionGuard.StateMachine(timeouts: timeouts, now: start)
        machine.headArrived(now: start)
        machine.responseEnded(now: start + .seconds(1))
        #expect(machine.deadline == start + .seconds(5), "the rest of the body must still come at the rate")
        machine.requestEnded(now: start + .seconds(2))
        #expect(machine.deadline == start + .seconds(62))
    }
}
