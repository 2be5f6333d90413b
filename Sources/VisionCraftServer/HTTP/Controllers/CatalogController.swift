import Foundation
import Hummingbird

/// The unauthenticated read-only endpoints: what can be served, the limits, health and metrics.
struct CatalogController<Context: RequestContext>: Sendable {
    let registry: ModelRegistry
    let tierPolicies: TierPolicies
    let metrics: ServerMetrics
    /// The bot's state, for `/health`, when a bot is configured.
    let bot: BotStatus?
    /// Whether the database answers (a shared one can be away; SQLite always is there).
    let databaseReachable: @Sendable () async -> Bool

    func addRoutes(to router: Router<Context>) {
        router.get("/models-llm") { _, _ in
            Response.json(.array(registry.servableChatModels.map { .string($0.name) }))
        }
        router.get("/v1/models") { _, _ in
            Response.json(["object": "list", "data": .array(registry.servableChatModels.map(modelObject))])
        }
        router.get("/v1/models/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            guard let model = registry.servableChatModels.first(where: { $0.name == id }) else {
                throw APIError(status: .notFound, message: "The model '\(id)' does not exist.",
                               type: "invalid_request_error", param: "model", code: "model_not_found")
            }
            return Response.json(modelObject(model))
        }
        router.get("/sd/models") { _, _ in Response.json(.array(registry.servableImageModels.map(JSONValue.string))) }
        // One model's defaults and what it offers (`/sd/models` stays a plain list of names).
        router.get("/sd/models/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            return try detail(registry.imageModel(named: name), name, servable: registry.servableImageModels, kind: "image")
        }
        router.get("/text2gif/models") { _, _ in Response.json(.array(registry.servableGIFModels.map(JSONValue.string))) }
        router.get("/text2gif/models/{name}") { _, context in
            let name = context.parameters.get("name") ?? ""
            return try detail(registry.gifModel(named: name), name, servable: registry.servableGIFModels, kind: "GIF")
        }
        router.get("/sd/samplers") { _, _ in Response.json(.array(registry.allSamplers.map(JSONValue.string))) }
        router.get("/sd/loras") { _, _ in Response.json(.array(registry.allLoRAs.map(JSONValue.string))) }
        router.get("/limits") { _, _ in
            let document = tierPolicies.publicDescription
            return Response.json(.object(document.mapValues { .object($0.mapValues(JSONValue.string)) }))
        }
        router.get("/health") { _, _ in
            // The API serves whatever the bot's state, so the answer stays 200; a bot that
            // Telegram refuses shows here (and in `visioncraft_telegram_bot_up`), never hidden.
            guard let bot else { return Response.json(["status": "ok"]) }
            return Response.json(["status": bot.isHealthy ? "ok" : "degraded", "telegram_bot": bot.json])
        }
        // For orchestrators: live means the process answers (restart it when not); ready means
        // keyed requests can be served now, its database reachable (route traffic elsewhere
        // when not — a restarting PostgreSQL makes every replica unready at once, not dead).
        router.get("/health/live") { _, _ in Response.json(["status": "live"]) }
        router.get("/health/ready") { _, _ in
            guard await databaseReachable() else {
                return Response.json(["status": "unready", "database": "unreachable"], status: .serviceUnavailable)
            }
            return Response.json(["status": "ready", "database": "ok"])
        }
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: ResponseBody(byteBuffer: ByteBuffer(string: metrics.exposition())))
        }
    }

    private func detail(_ model: ImageModel?, _ name: String, servable: [String], kind: String) throws -> Response {
        guard let model, servable.contains(name) else {
            throw APIError(status: .notFound, message: "The \(kind) model '\(name)' is not served here.",
                           type: "invalid_request_error", param: "model", code: "model_not_found")
        }
        return Response.json([
            "name": .string(name), "defaults": model.defaults.json,
            "samplers": .array(registry.samplers(of: model).sorted().map(JSONValue.string)),
            "loras": .array(registry.loras(of: model).sorted().map(JSONValue.string)),
        ])
    }

    private func modelObject(_ model: ChatModel) -> JSONValue {
        ["id": .string(model.name), "object": "model", "created": 0, "owned_by": "visioncraft",
         "vision": .bool(model.isVisionCapable)]
    }
}
