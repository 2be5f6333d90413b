import HTTPTypes
import Hummingbird
import Logging
import ServiceLifecycle

/// The router: every path of the API, behind the observation and error middleware.
public func buildRouter(services: AppServices) -> Router<AppRequestContext> {
    let router = Router(context: AppRequestContext.self, options: .autoGenerateHeadEndpoints)
    router.add(middleware: RequestObservationMiddleware(metrics: services.metrics))
    router.add(middleware: OpenAIErrorMiddleware())
    router.add(middleware: RequireHostMiddleware())
    let reader = KeyedRequestReader(
        authenticator: services.authenticator, maxBodyBytes: services.configuration.maxBodyBytes,
        unauthenticatedBodies: services.unauthenticatedBodies)
    let tickets = UsageTicket.Office(
        admission: services.admission, usage: services.usage, metrics: services.metrics, clock: services.clock)
    CatalogController(registry: services.registry, tierPolicies: services.configuration.tierPolicies,
                      metrics: services.metrics, bot: services.bot?.status,
                      databaseReachable: services.databaseReachable).addRoutes(to: router)
    ChatController(reader: reader, tickets: tickets, registry: services.registry, metrics: services.metrics,
                   clock: services.clock).addRoutes(to: router)
    ImageController(reader: reader, tickets: tickets, registry: services.registry, metrics: services.metrics)
        .addRoutes(to: router)
    KeyAccountController(authenticator: services.authenticator, usage: services.usageRepository,
                         policies: services.configuration.tierPolicies, clock: services.clock).addRoutes(to: router)
    if let sessions = services.adminSessions {
        AdminController(guardian: AdminGuard(sessions: sessions, clock: services.clock), keys: services.keys,
                        usage: services.usageRepository, bot: services.botStore,
                        policies: services.configuration.tierPolicies, clock: services.clock).addRoutes(to: router)
    }
    WebController(assets: .bundled, openAPI: OpenAPIDocument.make(policies: services.configuration.tierPolicies))
        .addRoutes(to: router)
    if let bot = services.bot, let path = bot.settings.webhookPath, let secret = bot.settings.webhookSecret {
        TelegramWebhookController(bot: bot, secret: secret).addRoutes(to: router, path: path)
    }
    return router
}



/// The whole server: routes plus the background services that must outlive in-flight requests
/// (usage writer, backend monitor, upstream clients), which Hummingbird stops after the server.
public func buildApplication(
    services: AppServices, host: String, port: Int, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }
) -> some ApplicationProtocol {
    let timeouts = services.configuration.connectionTimeouts
    let router = buildRouter(services: services)
    var application = Application(
        responder: MethodCheckingResponder(base: router.buildResponder(), methods: AllowedMethods(router.routes)),
        server: .http1(configuration: .init(additionalChannelHandlers: [ConnectionGuard(timeouts: timeouts)])),
        configuration: .init(address: .hostname(host, port: port), serverName: "VisionCraft"),
        onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? port) },
        logger: services.logger)
    application.addServices(services.backgroundServices)
    application.beforeServerStarts {
        // Know what the image backends offer before the first request asks.
        await services.registry.refresh()
    }
    return application
}
