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
    public let admission: any AdmissionControl
    public let usage: UsageRecorder
    public let registry: ModelRegistry
    public let metrics: ServerMetrics
    /// Bounds the bodies held for requests whose key is in the body, not yet checked.
    let unauthenticatedBodies: UnauthenticatedBodyBudget
    public let clock: WallClock
    public let logger: Logger
    /// The Telegram bot, when the configuration has one.
    public let bot: TelegramBot?
    /// The bot's accounts and payments, for the operator console (with or without a bot running).
    let botStore: (any BotStore)?
    /// The operator console's sign-in, when `VISIONCRAFT_ADMIN_TOKEN` is set.
    let adminSessions: AdminSessions?
    let httpClients: [HTTPClient]
    let loopLocalClients: [LoopLocalHTTPClient]
    /// What keeps this replica in step with the others on a shared database.
    let replicaServices: [any Service]
    /// Whether the database answers now (`/health/ready`).
    let databaseReachable: @Sendable () async -> Bool

    /// Builds the services and restores today's quota use from storage.
    public static func make(
        configuration: ServerConfiguration, keys: any KeyRepository, usageRepository: any UsageRepository,
        environment: [String: String], modelsDirectory: String? = nil, botStore: (any BotStore)? = nil,
        shared: PostgresStore? = nil, clock: WallClock = .system, botClock: any Clock<Duration> = ContinuousClock(),
        logger: Logger
    ) async throws -> AppServices {
        // Loading models (weights converted, tokenizers built) is seconds of CPU: done on a thread
        // of its own, not on the cooperative pool other servers in the process may be answering on.
        let initial = RegistryBuilder(environment: environment, clock: clock, logger: logger)
        let (registry, builder) = try await HeavyWork.run {
            var builder = initial
            return (try builder.build(configuration, modelsDirectory: modelsDirectory), builder)
        }
        let cachedKeys = CachedKeyRepository(keys, lifetime: .milliseconds(configuration.keyCacheMilliseconds))
        let admission: any AdmissionControl
        var replicaServices: [any Service] = []
        // This process's own counts: the limits on SQLite; with a shared database only the bot's
        // fallback for stores that do not count (`BotTransaction.requestsToday`).
        let local = Admission(policies: configuration.tierPolicies, clock: clock)
        if let shared {
            // The database counts for every replica; this one renews its leases and hears of
            // key changes made anywhere.
            let sharedAdmission = PostgresAdmission(
                store: shared, policies: configuration.tierPolicies, clock: clock,
                leaseSeconds: configuration.generationLeaseSeconds)
            admission = sharedAdmission
            replicaServices = [LeaseRenewal(admission: sharedAdmission, logger: logger),
                               PostgresKeyEvents(store: shared, onChange: { cachedKeys.forgetAll() }, logger: logger)]
        } else {
            let now = clock.now()
            local.restore(try await usageRepository.quotaCounts(
                dayStart: AdmissionStateMachine.startOfDay(now), monthStart: AdmissionStateMachine.startOfMonth(now)))
            admission = local
        }
        var httpClients = Array(builder.clients.values)
        let metrics = ServerMetrics()
        var bot: TelegramBot?
        if let settings = try BotSettings.resolve(configuration.telegram, environment: environment) {
            guard let botStore else { throw ConfigurationError("telegram: the bot needs the database") }
            let http = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
            httpClients.append(http)
            let client = TelegramClient(
                http: http, baseURL: settings.apiBaseURL, token: settings.token, clock: botClock, logger: logger)
            let commands = BotCommands(
                settings: settings, admission: local, policies: configuration.tierPolicies,
                gateway: TelegramAPIGateway(client: client, channel: settings.channel), clock: clock, logger: logger)
            let outbox = BotOutbox(store: botStore, client: client, policies: configuration.tierPolicies, logger: logger)
            let processor = UpdateProcessor(
                commands: commands, store: botStore, outbox: outbox, keysChanged: { cachedKeys.forgetAll() }, logger: logger)
            bot = TelegramBot(settings: settings, client: client, processor: processor, outbox: outbox, store: botStore,
                              status: BotStatus(metrics: metrics), logger: logger)
        }
        var adminSessions: AdminSessions?
        if let token = environment["VISIONCRAFT_ADMIN_TOKEN"], !token.isEmpty {
            guard token.count >= AdminSessions.minimumTokenLength else {
                throw ConfigurationError(
                    "VISIONCRAFT_ADMIN_TOKEN must be at least \(AdminSessions.minimumTokenLength) characters "
                        + "(try: openssl rand -hex 24)")
            }
            adminSessions = AdminSessions(adminToken: token)
        }
        return AppServices(
            configuration: configuration, keys: cachedKeys, usageRepository: usageRepository,
            authenticator: KeyAuthenticator(repository: cachedKeys), admission: admission,
            usage: UsageRecorder(repository: usageRepository, onDrop: { metrics.usageDropped($0) }, logger: logger),
            registry: registry,
            metrics: metrics,
            unauthenticatedBodies: UnauthenticatedBodyBudget(capacity: configuration.unauthenticatedBodyBytes),
            clock: clock, logger: logger, bot: bot, botStore: botStore, adminSessions: adminSessions, httpClients: httpClients,
            loopLocalClients: Array(builder.loopLocalClients.values), replicaServices: replicaServices,
            databaseReachable: { await shared?.isReachable() ?? true })
    }

    /// Long-running parts that must start with the server and stop after it.
    var backgroundServices: [any Service] {
        [usage, BackendMonitor(registry: registry, interval: .seconds(configuration.backendCheckSeconds)),
         HTTPClientsShutdown(clients: httpClients, loopLocalClients: loopLocalClients)] + (bot.map { [$0] } ?? [])
            + replicaServices
    }
}
