import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing
@testable import VisionCraftServer

/// Real `visioncraft serve` processes on one PostgreSQL database in front of one upstream, as an
/// operator deploys replicas behind a load balancer.
@Suite(.serialized, .enabled(if: TestPostgres.available, "needs the PostgreSQL server that make test starts"))
struct ReplicaProcessTests {
    /// Tier 1: 5 chat requests a minute; Tier 2: 7 a day; Free: one generation at a time. The
    /// key cache lives a minute, so only the change notifications can make a revoke quick.
    static func configuration(upstream: String) -> [String: Any] {
        func tier(_ name: String, concurrency: Int?, chat: [String: Any]) -> [String: Any] {
            var tier: [String: Any] = ["display_name": name, "chat": chat, "image": [:] as [String: Any], "gif": [:] as [String: Any]]
            if let concurrency { tier["concurrency"] = concurrency }
            return tier
        }
        return [
            "server": ["generation_lease_seconds": 3, "key_cache_milliseconds": 60_000],
            "tiers": [
                "free": tier("Free", concurrency: 1, chat: [:]),
                "tier1": tier("Tier 1", concurrency: nil, chat: ["rate": ["requests": 5, "seconds": 60]]),
                "tier2": tier("Tier 2", concurrency: nil, chat: ["per_day": 7]),
            ],
            "chat_models": [["name": "m", "backends": [["kind": "openai", "base_url": upstream, "model": "u"]]]],
        ]
    }

    static func chat(_ server: String, key: String, _ text: String = "hi") async throws -> (status: Int, headers: HTTPHeaders) {
        let response = try await LiveClient.post(
            "\(server)/v1/chat/completions", json: body(["model": "m", "messages": [["role": "user", "content": text]]]), key: key)
        return (response.status, response.headers)
    }

    /// 60 concurrent requests per key spread over three replicas: exactly the configured number
    /// get through, and after a graceful stop every request is in the usage log.
    @Test func limitsAreExactOverThreeReplicas() async throws {
        try await OpenAIUpstreamDouble().run { upstream in
            let cluster = try ReplicaCluster(count: 3, database: try await Self.database(),
                                             configuration: Self.configuration(upstream: upstream))
            try await cluster.startAll()
            let perMinute = try cluster.command(["keys", "create", "--tier", "tier1"]).trimmingCharacters(in: .newlines)
            let perDay = try cluster.command(["keys", "create", "--tier", "tier2"]).trimmingCharacters(in: .newlines)
            let statuses = try await withThrowingTaskGroup(of: (String, Int).self) { group in
                for i in 0..<120 {
                    let key = i % 2 == 0 ? perMinute : perDay
                    let server = cluster.urls[i % 3]
                    group.addTask { (key, try await Self.chat(server, key: key).status) }
                }
                var statuses: [String: [Int: Int]] = [:]
                for try await (key, status) in group { statuses[key, default: [:]][status, default: 0] += 1 }
                return statuses
            }
            #expect(statuses[perMinute] == [200: 5, 429: 55])
            #expect(statuses[perDay] == [200: 7, 403: 53])
            #expect(cluster.stopAll() == [0, 0, 0])
            let usage = try cluster.command(["usage"]).split(separator: "\n").dropFirst().map { $0.split(separator: "\t") }
            #expect(usage.map { "\($0[3]) \($0[4])" } == ["60 55", "60 53"], "every request recorded: \(usage)")
        }
    }

    /// A key revoked with the CLI is refused by every replica within a second, although each had
    /// it cached for a minute.
    @Test func aRevokeReachesEveryReplicaWithinASecond() async throws {
        try await OpenAIUpstreamDouble().run { upstream in
            let cluster = try ReplicaCluster(count: 3, database: try await Self.database(),
                                             configuration: Self.configuration(upstream: upstream))
            try await cluster.startAll()
            let key = try cluster.command(["keys", "create", "--tier", "tier2"]).trimmingCharacters(in: .newlines)
            for server in cluster.urls { #expect(try await Self.chat(server, key: key).status == 200) }
            try cluster.command(["keys", "revoke", String(key.prefix(10))])
            let revoked = ContinuousClock.now
            for server in cluster.urls {
                #expect(await eventually(timeout: .seconds(1)) { (try? await Self.chat(server, key: key).status) == 401 })
            }
            #expect(ContinuousClock.now - revoked < .seconds(1))
        }
    }

    /// A replica killed (-9) in the middle of a stream held a Free key's only generation slot; the
    /// other replicas refuse the key while the lease lives and admit it once it has run out.
    @Test func aKilledReplicasSlotReturnsWithinTheLeaseTime() async throws {
        try await OpenAIUpstreamDouble().run { upstream in
            let cluster = try ReplicaCluster(count: 2, database: try await Self.database(),
                                             configuration: Self.configuration(upstream: upstream))
            try await cluster.startAll()
            let key = try cluster.command(["keys", "create"]).trimmingCharacters(in: .newlines)
            let stream = try await LiveClient.streamingChat(
                cluster.urls[0], key: key, ["model": "m", "messages": [["role": "user", "content": "slow"]], "stream": true])
            var chunks = stream.body.makeAsyncIterator()
            _ = try await chunks.next()  // the generation is running
            #expect(try await Self.chat(cluster.urls[1], key: key).status == 429)
            cluster.kill(0)
            let killed = ContinuousClock.now
            #expect(try await Self.chat(cluster.urls[1], key: key).status == 429, "the lease outlives the replica briefly")
            #expect(await eventually(timeout: .seconds(8)) { (try? await Self.chat(cluster.urls[1], key: key).status) == 200 })
            let returned = ContinuousClock.now - killed
            #expect(returned < .seconds(3 + 2), "within the 3 s lease (renewed every second), took \(returned)")
        }
    }

    /// PostgreSQL stopped under load: requests that need it get a quick 503 with Retry-After,
    /// the replicas say they are live but not ready, nothing crashes; when it is back they serve
    /// again by themselves, and the usage recorded meanwhile reaches the database.
    @Test func aDatabaseRestartUnderLoadIsSurvived() async throws {
        let postgres = try PrivatePostgres()
        try await OpenAIUpstreamDouble().run { upstream in
            let cluster = try ReplicaCluster(count: 2, database: postgres.url, configuration: Self.configuration(upstream: upstream))
            try await cluster.startAll()
            let key = try cluster.command(["keys", "create", "--tier", "tier2"]).trimmingCharacters(in: .newlines)
            for server in cluster.urls { #expect(try await Self.chat(server, key: key).status == 200) }
            try postgres.stop()
            for server in cluster.urls {
                let started = ContinuousClock.now
                let (status, headers) = try await Self.chat(server, key: key)
                #expect(status == 503 && headers["Retry-After"].first == "1")
                #expect(ContinuousClock.now - started < .seconds(4))
                #expect(try await LiveClient.get("\(server)/health/ready").status == 503)
                #expect(try await LiveClient.get("\(server)/health/live").status == 200)
            }
            try postgres.start()
            for server in cluster.urls {
                #expect(await eventually(timeout: .seconds(20)) { (try? await Self.chat(server, key: key).status) == 200 })
            }
            #expect(cluster.isRunning(0) && cluster.isRunning(1))
            #expect(cluster.stopAll() == [0, 0])
            let usage = try cluster.command(["usage"]).split(separator: "\n").dropFirst().map { $0.split(separator: "\t") }
            #expect(usage.count == 1 && Int(usage[0][3])! >= 6, "the 200s and 503s, recorded: \(usage)")
        }
    }

    static func database() async throws -> String {
        let url = try await TestPostgres.freshDatabase()
        return "postgres://\(url.user)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
    }
}
