import Foundation
import NIOConcurrencyHelpers
@testable import VisionCraftServer

/// `visioncraft serve` processes on one PostgreSQL database, as an operator runs replicas: each
/// with its own port and data directory, all with the same configuration.
final class ReplicaCluster: Sendable {
    let database: String
    private let processes = NIOLockedValueBox<[Int: Process]>([:])
    let ports: [Int]
    let environment: [String: String]
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vc-replicas-\(UUID().uuidString)").path

    init(count: Int, database: String, configuration: [String: Any], environment: [String: String] = [:]) throws {
        self.database = database
        self.environment = environment
        ports = try (0..<count).map { _ in try ReplicaStoreTests.closedPort() }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Data(body(configuration).utf8).write(to: URL(fileURLWithPath: directory + "/config.json"))
    }

    var urls: [String] { ports.map { "http://127.0.0.1:\($0)" } }

    /// Starts replica `index` and returns once it is ready (its database reachable).
    func start(_ index: Int) async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLineTests.binary)
        process.arguments = ["serve", "--database", database, "--port", String(ports[index]), "--data-dir",
                             directory + "/replica\(index)", "--config", directory + "/config.json", "--log-level", "critical"]
        process.standardError = FileHandle.nullDevice
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        try process.run()
        processes.withLockedValue { $0[index] = process }
        let url = urls[index]
        guard await eventually(timeout: .seconds(30), { (try? await LiveClient.get("\(url)/health/ready").status) == 200 }) else {
            throw ConfigurationError("replica \(index) did not become ready")
        }
    }

    func startAll() async throws {
        for index in ports.indices { try await start(index) }
    }

    /// `kill -9`: the replica ends without a word to anyone.
    func kill(_ index: Int) {
        guard let process = processes.withLockedValue({ $0.removeValue(forKey: index) }) else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM to every replica, then waits for each to exit; their exit statuses.
    func stopAll() -> [Int32] {
        let running = processes.withLockedValue { processes in
            defer { processes.removeAll() }
            return processes.sorted { $0.key < $1.key }.map(\.value)
        }
        for process in running { process.terminate() }
        return running.map { process in
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    /// The replicas still running, by index.
    var running: [Int] { processes.withLockedValue { $0.keys.sorted() } }

    func isRunning(_ index: Int) -> Bool {
        processes.withLockedValue { $0[index]?.isRunning ?? false }
    }

    /// The CLI on the cluster's database.
    func command(_ arguments: [String]) throws -> String {
        let (status, output) = try CommandLineTests.runBinary(arguments + ["--database", database, "--data-dir", directory + "/cli"])
        guard status == 0 else { throw ConfigurationError("visioncraft \(arguments) failed") }
        return output
    }

    deinit {
        _ = stopAll()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A PostgreSQL server of a test's own, which the test stops and starts (the shared one serves
/// every other test meanwhile).
final class PrivatePostgres: Sendable {
    let directory: String
    let port: Int
    private let bin = ProcessInfo.processInfo.environment["VISIONCRAFT_TEST_POSTGRES_BIN"]!

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("vc-pg-\(UUID().uuidString)").path
        port = try ReplicaStoreTests.closedPort()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        if getuid() == 0 { try Self.run("/bin/chown", ["postgres", directory]) }
        try asOwner("\(bin)/initdb", ["-D", directory + "/cluster", "-U", "postgres", "-A", "trust", "--no-sync"])
        let settings = """
            listen_addresses = '127.0.0.1'
            port = \(port)
            unix_socket_directories = '\(directory)'
            fsync = off
            """
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory + "/cluster/postgresql.conf"))
        handle.seekToEndOfFile()
        handle.write(Data(("\n" + settings + "\n").utf8))
        try handle.close()
        try start()
    }

    var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres?sslmode=disable" }

    func start() throws {
        try asOwner("\(bin)/pg_ctl", ["-D", directory + "/cluster", "-l", directory + "/server.log", "-w", "start"])
    }

    func stop() throws {
        try asOwner("\(bin)/pg_ctl", ["-D", directory + "/cluster", "-m", "fast", "-w", "stop"])
    }

    private func asOwner(_ program: String, _ arguments: [String]) throws {
        if getuid() == 0 {
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", program] + arguments)
        } else {
            try Self.run(program, arguments)
        }
    }

    /// posix_spawn and a wait on that one child: Foundation's `Process` waits through a SIGCHLD
    /// source that was seen to miss the exit of `runuser … pg_ctl start` (its daemon lives on).
    private static func run(_ program: String, _ arguments: [String]) throws {
        var actions: posix_spawn_file_actions_t = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        guard posix_spawn(&pid, program, &actions, nil, argv, environ) == 0 else {
            throw ConfigurationError("\(program) did not start")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        guard status == 0 else { throw ConfigurationError("\(program) \(arguments) failed (\(status))") }
    }

    deinit {
        try? asOwner("\(bin)/pg_ctl", ["-D", directory + "/cluster", "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(atPath: directory)
    }
}
