import ArgumentParser
import Foundation
import Logging
import VisionCraftServer


struct VisionCraftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visioncraft",
        abstract: "A self-hostable AI API server: OpenAI-compatible chat, Stable Diffusion images and GIFs behind API keys.",
        subcommands: [ServeCommand.self, KeysCommand.self, UsageCommand.self, DatabaseCommand.self, ModelsCommand.self, BenchEngineCommand.self, BenchQualityCommand.self, BenchTokenizerCommand.self,
                      BenchImageCommand.self, BenchGIFCommand.self],
        defaultSubcommand: ServeCommand.self)
}

/// Options every command shares: where the data lives.
struct StorageOptions: ParsableArguments {
    @Option(name: .long, help: "Directory for the SQLite database and downloaded models.")
    var dataDir: String = ProcessInfo.processInfo.environment["VISIONCRAFT_DATA_DIR"] ?? "data"

    @Option(name: .long, help: "postgres://user:password@host:5432/db?sslmode=... to share PostgreSQL between replicas (else $VISIONCRAFT_DATABASE_URL, the config file's server.database, or SQLite in the data directory).")
    var database: String?

    /// `--database`, else the environment's, else the configuration file's; none: SQLite.
    func location(configured: String? = nil) throws -> DatabaseLocation {
        let url = database ?? ProcessInfo.processInfo.environment["VISIONCRAFT_DATABASE_URL"] ?? configured
        do {
            return try DatabaseLocation.resolve(url: url, dataDirectory: dataDir)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }

    /// Runs `body` on the chosen store, opened and migrated.
    func using<Value: Sendable>(
        configured: String? = nil, connections: Int? = nil, _ body: (Store) async throws -> Value
    ) async throws -> Value {
        let location = try location(configured: configured)
        do {
            return try await Store.using(location, connections: connections ?? 8, logger: Logger(label: "visioncraft"), body)
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
    }
}

extension Optional {
    func asyncMap<T>(_ transform: (Wrapped) async throws -> T) async rethrows -> T? {
        guard let self else { return nil }
        return try await transform(self)
    }
}
