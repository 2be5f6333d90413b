import AsyncHTTPClient
import Foundation
import NIOCore
import NIOConcurrencyHelpers
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

            // Free: one generation at a time. 30 streams at once over the three replicas while
            // the admitted one runs: exactly one starts. An admitted stream is held open, unread,
            // until every request has its answer — dropped at once, its client would have gone
            // and freed the slot for a request that a loaded machine had not sent yet.
            let single = try cluster.command(["keys", "create"]).trimmingCharacters(in: .newlines)
            let (streams, held) = try await withThrowingTaskGroup(of: (Int, HTTPClientResponse?).self) { group in
                for i in 0..<30 {
                    let server = cluster.urls[i % 3]
                    group.addTask {
                        let response = try await LiveClient.streamingChat(
                            server, key: single, ["model": "m", "messages": [["role": "user", "content": "slow"]], "stream": true])
                        guard response.status == .ok else {
                            _ = try await response.body.collect(upTo: 1 << 20)
                            return (Int(response.status.code), nil)
                        }
                        return (200, response)
                    }
                }
                var streams: [Int: Int] = [:], held: [HTTPClientResponse] = []
                for try await (status, response) in group {
                    streams[status, default: 0] += 1
                    if let response { held.append(response) }
                }
                return (streams, held)
            }
            #expect(streams == [200: 1, 429: 29])
            for response in held { _ = try? await response.body.collect(upTo: 1 << 20) }
            #expect(cluster.stopAll() == [0, 0, 0])
            let usage = try cluster.command(["usage"]).split(separator: "\n").dropFirst().map { $0.split(separator: "\t") }
            // Every request recorded; the admitted stream, read to its end, is the free key's one success.
            #expect(usage.map { "\($0[3]) \($0[4])" } == ["60 55", "60 53", "30 29"], "every request recorded: \(usage)")
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

    /// Two replicas with a polling bot: one runs it (the other stands by), an update is handled
    /// once, and when the running replica is killed (-9) the other takes over within 10 s and
    /// goes on from the same state (the user keeps their key).
    @Test func theBotRunsOnceAndAnotherReplicaTakesOverWhenItDies() async throws {
        let telegram = TelegramBotAPIDouble()
        try await telegram.run { api in
            try await OpenAIUpstreamDouble().run { upstream in
                var configuration = Self.configuration(upstream: upstream)
                configuration["telegram"] = [
                    "channel": TelegramBotAPIDouble.channel, "api_base_url": api, "poll_timeout_seconds": 1,
                    "membership_check_minutes": 60,
                ] as [String: Any]
                let cluster = try ReplicaCluster(count: 2, database: try await Self.database(), configuration: configuration,
                                                 environment: ["TELEGRAM_BOT_TOKEN": TelegramBotAPIDouble.token])
                try await cluster.startAll()
                let leader = try #require(await Self.botLeader(cluster, among: [0, 1]))
                let standby = 1 - leader
                #expect(try await Self.botState(cluster.urls[standby]) == "standby")

                telegram.join(42)
                telegram.send("/key", from: 42)
                let first = try await TelegramBotTests.message(1, to: 42, telegram)
                let key = try TelegramBotTests.key(in: first)
                telegram.send("/limits", from: 42)
                _ = try await TelegramBotTests.message(2, to: 42, telegram)
                #expect(telegram.messages(to: 42).count == 2, "each update answered once")
                #expect(try await Self.chat(cluster.urls[standby], key: key).status == 200, "the bot's key works on every replica")

                cluster.kill(leader)
                let died = ContinuousClock.now
                #expect(await Self.botLeader(cluster, among: [standby]) == standby)
                #expect(ContinuousClock.now - died < .seconds(10))
                telegram.send("/key", from: 42)
                let again = try await TelegramBotTests.message(3, to: 42, telegram)
                #expect(again.contains("already have a key"), "the new leader reads the same state: \(again)")
                #expect(telegram.messages(to: 42).count == 3)
            }
        }
    }

    /// The replica whose bot is running, once one is (within 15 s).
    static func botLeader(_ cluster: ReplicaCluster, among indices: [Int]) async -> Int? {
        let found = NIOLockedValueBox<Int?>(nil)
        _ = await eventually(timeout: .seconds(15)) {
            for index in indices where (try? await botState(cluster.urls[index])) == "running" {
                found.withLockedValue { $0 = index }
                return true
            }
            return false
        }
        return found.withLockedValue { $0 }
    }

    static func botState(_ server: String) async throws -> String? {
        try await LiveClient.get("\(server)/health").body.json["telegram_bot"]["state"].string
    }

    static func database() async throws -> String {
        let url = try await TestPostgres.freshDatabase()
        return "postgres://\(url.user)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
    }
}
