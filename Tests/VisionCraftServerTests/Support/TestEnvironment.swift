import Foundation
import Hummingbird
import HummingbirdTesting
import Logging
@testable import VisionCraftServer

/// A server wired as in production (real SQLite, real limits, real backends) on an in-memory
/// database and a hand-moved clock.
final class TestEnvironment: Sendable {
    let services: AppServices
    let clock: ManualClock
    let database: SQLiteDatabase

    init(services: AppServices, clock: ManualClock, database: SQLiteDatabase) {
        self.services = services
        self.clock = clock
        self.database = database
    }

    /// Router tests never run the server's services, so the upstream clients are closed here.
    deinit {
        for client in services.httpClients {
            try? client.syncShutdown()
        }
    }

    static func make(
        configuration: ServerConfiguration = ServerConfiguration(), environment: [String: String] = [:],
        database: SQLiteDatabase? = nil, clock: ManualClock = ManualClock(), modelsDirectory: String? = nil,
        botStore: Bool = false
    ) async throws -> TestEnvironment {
        let database = try database ?? SQLiteDatabase.inMemory()
        var logger = Logger(label: "visioncraft-test")
        logger.logLevel = .warning
        let services = try await AppServices.make(
            configuration: configuration, keys: SQLiteKeyRepository(database: database),
            usageRepository: SQLiteUsageRepository(database: database), environment: environment,
            modelsDirectory: modelsDirectory, botStore: botStore ? SQLiteBotStore(database: database) : nil,
            clock: clock.wallClock, logger: logger)
        return TestEnvironment(services: services, clock: clock, database: database)
    }

    func mintKey(_ tier: Tier = .free, until: Date? = nil) async throws -> (key: String, record: APIKeyRecord) {
        let minted = try await services.keys.create(tier: tier, tierUntil: until, label: "test", now: clock.wallClock.now())
        return (minted.plainText, minted.record)
    }

    var application: some ApplicationProtocol {
        buildApplication(services: services, host: "127.0.0.1", port: 0)
    }

    /// In-process requests through the router, no sockets.
    func test<Value: Sendable>(_ body: @Sendable (any TestClientProtocol) async throws -> Value) async throws -> Value {
        await services.registry.refresh()
        return try await Application(router: buildRouter(services: services)).test(.router, body)
    }

    /// The whole server on a real port, with its background services running.
    func live<Value: Sendable>(
        gracePeriod: Duration? = nil, _ body: @Sendable (String) async throws -> Value
    ) async throws -> Value {
        try await withRunningServer(gracePeriod: gracePeriod, { onPort in
            buildApplication(services: services, host: "127.0.0.1", port: 0, onServerRunning: onPort)
        }) { port in try await body("http://127.0.0.1:\(port)") }
    }

    /// The same, with the limits on real time instead of the hand-moved clock.
    func liveOnSystemClock<Value: Sendable>(_ body: @Sendable (String) async throws -> Value) async throws -> Value {
        let services = try await AppServices.make(
            configuration: services.configuration, keys: services.keys, usageRepository: services.usageRepository,
            environment: [:], clock: .system, logger: services.logger)
        return try await withRunningServer({ onPort in
            buildApplication(services: services, host: "127.0.0.1", port: 0, onServerRunning: onPort)
        }) { port in try await body("http://127.0.0.1:\(port)") }
    }

    func usageRecords() async throws -> [UsageRecord] {
        try await services.usage.flush()
        return try await database.writer.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM usage_events ORDER BY id").map { row in
                UsageRecord(
                    keyID: row["key_id"], category: UsageCategory(rawValue: row["category"])!, model: row["model"],
                    promptTokens: row["prompt_tokens"], completionTokens: row["completion_tokens"],
                    status: row["status"], durationMilliseconds: row["duration_ms"],
                    createdAt: Date(timeIntervalSince1970: row["created_at"]),
                    countsTowardQuota: row["counts_toward_quota"])
            }
        }
    }
}

import GRDB

extension TestClientProtocol {
    @discardableResult
    func post(_ uri: String, json: String, key: String? = nil, headers extra: HTTPFields = [:]) async throws -> TestResponse {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let key { headers[.authorization] = "Bearer \(key)" }
        headers.append(contentsOf: extra)
        return try await execute(uri: uri, method: .post, headers: headers, body: ByteBuffer(string: json))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }
}

extension TestResponse {
    var json: JSONValueForTests { body.json }
    var errorParam: String? { json["error"]["param"].string }
    var errorMessage: String { json["error"]["message"].string ?? "" }
}

/// The usual arrangement of a chat test: an OpenAI-protocol upstream double, a server configured
/// with it (`test-model`, `test-vision`) and a key of the given tier.
func withChatUpstream<Value: Sendable>(
    _ tier: Tier = .free,
    _ body: @Sendable (OpenAIUpstreamDouble, TestEnvironment, String, APIKeyRecord) async throws -> Value
) async throws -> Value {
    let upstream = OpenAIUpstreamDouble()
    return try await upstream.run { url in
        let environment = try await TestEnvironment.make(configuration: .upstreams(chat: [url]))
        let (key, record) = try await environment.mintKey(tier)
        return try await body(upstream, environment, key, record)
    }
}

func withChatUpstream<Value: Sendable>(
    _ tier: Tier = .free, _ body: @Sendable (OpenAIUpstreamDouble, TestEnvironment, String) async throws -> Value
) async throws -> Value {
    try await withChatUpstream(tier) { upstream, environment, key, _ in try await body(upstream, environment, key) }
}

/// The same with an A1111-protocol upstream double (`sdxl-base`, `animatediff`).
func withImageUpstream<Value: Sendable>(
    _ tier: Tier = .free, _ body: @Sendable (A1111UpstreamDouble, TestEnvironment, String) async throws -> Value
) async throws -> Value {
    let upstream = A1111UpstreamDouble()
    return try await upstream.run { url in
        let environment = try await TestEnvironment.make(configuration: .upstreams(a1111: url))
        let (key, _) = try await environment.mintKey(tier)
        return try await body(upstream, environment, key)
    }
}
