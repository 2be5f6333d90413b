import AsyncHTTPClient
import Foundation
import NIOCore
import Testing
@testable import VisionCraftServer

/// The `visioncraft` binary as an operator uses it: keys, usage, and serve with a clean shutdown.
@Suite(.serialized) struct CommandLineTests {
    static let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        .appendingPathComponent("visioncraft").path

    let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("vc-cli-\(UUID().uuidString)").path

    @discardableResult
    func run(_ arguments: [String], expectSuccess: Bool = true) throws -> String {
        let (status, output) = try Self.runBinary(arguments + ["--data-dir", dataDir])
        #expect((status == 0) == expectSuccess, "\(arguments)")
        return output
    }

    /// The binary run to its end: its exit status and what it printed on stdout.
    static func runBinary(_ arguments: [String]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func openDatabase() throws -> SQLiteDatabase {
        try SQLiteDatabase.open(path: dataDir + "/visioncraft.sqlite")
    }

    @Test func keysAreMintedListedAndManaged() async throws {
        let created = try run(["keys", "create", "--tier", "tier1", "--label", "alice"])
        let key = created.trimmingCharacters(in: .newlines)
        #expect(created == key + "\n", "the key alone on stdout")
        #expect(key.range(of: #"^vc_[A-Za-z0-9_-]{32}$"#, options: .regularExpression) != nil)

        let listed = try run(["keys", "list"])
        #expect(listed.contains(String(key.prefix(10))))
        #expect(listed.contains("alice"))
        #expect(!listed.contains(key))

        try run(["keys", "set-tier", String(key.prefix(10)), "--tier", "tier2", "--until", "2030-01-01"])
        let authenticator = KeyAuthenticator(repository: SQLiteKeyRepository(database: try openDatabase()))
        let record = try await authenticator.authenticate(key)
        #expect(record.tier == .tier2)
        #expect(record.tierUntil == Date(timeIntervalSince1970: 1_893_456_000))

        try run(["keys", "deactivate", "1", "--reason", "banned for spam."])
        await #expect(throws: APIError.keyDeactivated("banned for spam.")) { try await authenticator.authenticate(key) }
        try run(["keys", "activate", key])
        #expect(try await authenticator.authenticate(key).isActive)

        try run(["keys", "revoke", "1"])
        await #expect(throws: APIError.unknownKey) { try await authenticator.authenticate(key) }
        #expect(try run(["keys", "list"]).contains("revoked"))

        try run(["keys", "create", "--tier", "platinum"], expectSuccess: false)
        try run(["keys", "revoke", "vc_nothing"], expectSuccess: false)
    }

    @Test func usageIsSummarisedPerKeyAndCategory() async throws {
        let key = try run(["keys", "create"]).trimmingCharacters(in: .newlines)
        let repository = SQLiteUsageRepository(database: try openDatabase())
        let now = Date()
        try await repository.insert([
            UsageRecord(keyID: 1, category: .chat, model: "m", promptTokens: 10, completionTokens: 5, status: 200,
                        durationMilliseconds: 100, createdAt: now, countsTowardQuota: true),
            UsageRecord(keyID: 1, category: .chat, model: "m", promptTokens: 7, completionTokens: 2, status: 502,
                        durationMilliseconds: 300, createdAt: now, countsTowardQuota: true),
        ])
        let lines = try run(["usage", "--key", key]).split(separator: "\n")
        #expect(lines.count == 2)
        #expect(lines[1].split(separator: "\t").map(String.init) == ["1", String(key.prefix(10)), "chat", "2", "1", "17", "7", "200"])
        #expect(try run(["usage", "--since", "2099-01-01"]).split(separator: "\n").count == 1)
    }

    /// The same commands on PostgreSQL (`--database`), and an installation moved there with
    /// `db copy`: its keys keep working, its usage is there.
    @Test(.enabled(if: TestPostgres.available, "needs the PostgreSQL server that make test starts"))
    func commandsWorkOnPostgresAndCopyMovesAnInstallation() async throws {
        let key = try run(["keys", "create", "--tier", "tier1", "--label", "moved"]).trimmingCharacters(in: .newlines)
        try await SQLiteUsageRepository(database: try openDatabase()).insert([
            UsageRecord(keyID: 1, category: .image, model: "m", status: 200, durationMilliseconds: 40, createdAt: Date(),
                        countsTowardQuota: true),
        ])
        let url = try await TestPostgres.freshDatabase()
        let database = "postgres://\(url.user)@\(url.host):\(url.port)/\(url.database)?sslmode=disable"
        #expect(try run(["db", "migrate", "--database", database]).contains("Migrated postgres://"))
        let copied = try run(["db", "copy", "--to", database])
        #expect(copied.contains("api_keys\t1\n") && copied.contains("usage_events\t1\n"), "\(copied)")
        // A second copy would duplicate: refused.
        try run(["db", "copy", "--to", database], expectSuccess: false)

        let label = try await Store.using(.postgres(url), requestDeadline: TestPostgres.deadline, logger: TestPostgres.logger) { store in
            try await KeyAuthenticator(repository: store.keys).authenticate(key).label
        }
        #expect(label == "moved")
        let minted = try run(["keys", "create", "--database", database]).trimmingCharacters(in: .newlines)
        let listed = try run(["keys", "list", "--database", database])
        #expect(listed.contains("moved") && listed.contains(String(minted.prefix(10))))
        #expect(listed.split(separator: "\n")[2].hasPrefix("2\t"), "ids continue after the copied ones")
        try run(["keys", "revoke", "--database", database, String(minted.prefix(10))])
        #expect(try run(["keys", "list", "--database", database]).contains("revoked"))
        let usage = try run(["usage", "--database", database, "--key", key]).split(separator: "\n")
        #expect(usage.count == 2 && usage[1].contains("\timage\t1\t0\t"))
        try run(["keys", "list", "--database", "mysql://nope"], expectSuccess: false)
    }

    @Test func serveAnswersAndShutsDownGracefullyLettingStreamsFinish() async throws {
        let upstream = OpenAIUpstreamDouble()
        try await upstream.run { url in
            let key = try run(["keys", "create", "--tier", "tier2"]).trimmingCharacters(in: .newlines)
            let configPath = dataDir + "/config.json"
            let port = Int.random(in: 20_000..<40_000)
            try Data(body([
                "server": ["port": port],
                "chat_models": [["name": "m", "backends": [["kind": "openai", "base_url": url, "model": "u"]]]],
            ]).utf8).write(to: URL(fileURLWithPath: configPath))

            let server = Process()
            server.executableURL = URL(fileURLWithPath: Self.binary)
            server.arguments = ["serve", "--data-dir", dataDir, "--config", configPath, "--log-level", "error"]
            try server.run()
            defer { if server.isRunning { server.terminate() } }
            let base = "http://127.0.0.1:\(port)"
            #expect(await eventually { (try? await LiveClient.get("\(base)/health").status) == 200 })
            #expect(try await LiveClient.get("\(base)/models-llm").body.json.strings == ["m"])

            let response = try await LiveClient.streamingChat(
                base, key: key, ["model": "m", "messages": [["role": "user", "content": "slow-short"]], "stream": true])
            var chunks = response.body.makeAsyncIterator()
            // The stream's first bytes are in: it is in flight when the signal comes.
            var received = try #require(try await chunks.next())
            kill(server.processIdentifier, SIGTERM)
            while var chunk = try await chunks.next() { received.writeBuffer(&chunk) }
            #expect(sseEvents(received).last == "[DONE]", "the stream in flight finishes")
            #expect(sseEvents(received).count == 50 + 3)
            #expect(await eventually { !server.isRunning })
            #expect(server.terminationStatus == 0)
            let summary = try run(["usage"])
            #expect(summary.contains("\tchat\t1\t0\t"), "its usage was written before exit: \(summary)")
        }
    }
}
