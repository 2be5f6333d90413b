import AsyncHTTPClient
import Foundation
import Logging
import ServiceLifecycle

/// Everything the routes need, built once from the configuration: the composition root.
public struct AppServices: Sendable {
    public let configuration: ServerConfiguration
    public let keys: any KeyRepository
    public let usageRepository: any UsageRepository
    public let authenticator: KeyAuthenticator
    public let admission: Admission
    public let usage: UsageRecorder
    public let registry: ModelRegistry
    public let metrics: ServerMetrics
    public let clock: WallClock
    public let logger: Logger
    let httpClients: [HTTPClient]

    /// Builds the services and restores today's quota use from storage.
    public static func make(
        configuration: ServerConfiguration, keys: any KeyRepository, usageRepository: any UsageRepository,
        environment: [String: String], modelsDirectory: String? = nil, clock: WallClock = .system, logger: Logger
    ) async throws -> AppServices {
        var builder = RegistryBuilder(environment: environment, clock: clock, logger: logger)
        let registry = try builder.build(configuration, modelsDirectory: modelsDirectory)
        let admission = Admission(policies: configuration.tierPolicies, clock: clock)
        let now = clock.now()
        admission.restore(try await usageRepository.quotaCounts(
            dayStart: AdmissionStateMachine.startOfDay(now), monthStart: AdmissionStateMachine.startOfMonth(now)))
        let cachedKeys = CachedKeyRepository(keys, lifetime: .milliseconds(configuration.keyCacheMilliseconds))
        return AppServices(
            configuration: configuration, keys: cachedKeys, usageRepository: usageRepository,
            authenticator: KeyAuthenticator(repository: cachedKeys), admission: admission,
            usage: UsageRecorder(repository: usageRepository, logger: logger), registry: registry,
            metrics: ServerMetrics(), clock: clock, logger: logger, httpClients: Array(builder.clients.values))
    }

    /// Long-running parts that must start with the server and stop after it.
    var backgroundServices: [any Service] {
        [usage, BackendMonitor(registry: registry, interval: .seconds(configuration.backendCheckSeconds)),
         HTTPClientsShutdown(clients: httpClients)]
    }
}

/// Re-checks backends on an interval so list endpoints show what is servable now.
struct BackendMonitor: Service {
    let registry: ModelRegistry
    let interval: Duration

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.interval) }
            guard !Task.isShuttingDownGracefully else { break }
            await registry.refresh()
        }
    }
}

/// Closes upstream connection pools once the server no longer needs them.
struct HTTPClientsShutdown: Service {
    let clients: [HTTPClient]

    func run() async throws {
        try? await gracefulShutdown()
        for client in clients {
            try? await client.shutdown()
        }
    }
}
