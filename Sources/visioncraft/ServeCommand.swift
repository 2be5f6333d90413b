import ArgumentParser
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import VisionCraftServer

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "serve", abstract: "Run the API server.")

    @OptionGroup var storage: StorageOptions

    @Option(help: "Address to listen on (default: the config file's, else 127.0.0.1).")
    var host: String?

    @Option(help: "Port to listen on (default: the config file's, else 8080).")
    var port: Int?

    @Option(help: "Configuration file (JSON), else $VISIONCRAFT_CONFIG. See config/visioncraft.example.json.")
    var config: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = ProcessInfo.processInfo.environment["LOG_LEVEL"] ?? "info"

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "visioncraft")
        let configuration: ServerConfiguration
        do {
            let path = config ?? ProcessInfo.processInfo.environment["VISIONCRAFT_CONFIG"]
            configuration = try path.map(ServerConfiguration.load(path:)) ?? ServerConfiguration()
        } catch let error as ConfigurationError {
            throw ValidationError(error.description)
        }
        let location = try storage.location(configured: configuration.server?.database)
        logger.info("Storage", metadata: ["database": "\(location.redacted)"])
        try await storage.using(configured: configuration.server?.database,
                                connections: configuration.server?.databaseConnections) { store in
            let services = try await AppServices.make(
                configuration: configuration, keys: store.keys, usageRepository: store.usage,
                environment: ProcessInfo.processInfo.environment,
                modelsDirectory: (storage.dataDir as NSString).appendingPathComponent("models"),
                botStore: store.bot, shared: store.shared, logger: logger)
            let application = buildApplication(
                services: services, host: host ?? configuration.host, port: port ?? configuration.port)
            var groupConfiguration = ServiceGroupConfiguration(
                services: [.init(service: application)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            // In-flight streams get this long to finish before they are cut.
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(configuration.shutdownGraceSeconds)
            try await ServiceGroup(configuration: groupConfiguration).run()
        }
    }
}
