/// The open endpoints (models, limits, health, metrics) and the key's own account.
extension OpenAPIDocument {
    static func catalogPaths() -> [String: JSONValue] {
        let names: JSONValue = ["type": "array", "items": ["type": "string"]]
        let found = errors([404])
        return [
            "/v1/models": get("Catalog", "listModels", "Chat models (OpenAI's list shape)",
                              json("The chat models that can be served now.", ref("ModelList"))),
            "/v1/models/{id}": get("Catalog", "retrieveModel", "One chat model", json("The model.", ref("Model")),
                                   parameters: [pathParameter("id", "The model's name.")], more: found),
            "/models-llm": get("Catalog", "listChatModelNames", "Chat model names", json("Names.", names)),
            "/sd/models": get("Catalog", "listImageModels", "Image model names", json("Names.", names)),
            "/sd/models/{name}": get("Catalog", "retrieveImageModel", "One image model's defaults, samplers and LoRAs",
                                     json("The model.", ref("ImageModel")),
                                     parameters: [pathParameter("name", "The model's name.")], more: found),
            "/sd/samplers": get("Catalog", "listSamplers", "Sampler names", json("Names.", names)),
            "/sd/loras": get("Catalog", "listLoRAs", "LoRA names", json("Names.", names)),
            "/text2gif/models": get("Catalog", "listGIFModels", "GIF model names", json("Names.", names)),
            "/text2gif/models/{name}": get("Catalog", "retrieveGIFModel", "One GIF model's defaults",
                                           json("The model.", ref("ImageModel")),
                                           parameters: [pathParameter("name", "The model's name.")], more: found),
            "/limits": get("Catalog", "getLimits", "Each tier's limits, in words",
                           json("Tier name → category → limit.", [
                               "type": "object",
                               "additionalProperties": ["type": "object", "additionalProperties": ["type": "string"]],
                           ])),
            "/health": get("Operations", "getHealth", "Health, and the Telegram bot's state when it has one",
                           json("Serving.", ["type": "object", "required": ["status"], "properties": [
                               "status": ["enum": ["ok", "degraded"]], "telegram_bot": ["type": "object"],
                           ]])),
            "/health/live": get("Operations", "getLiveness", "Whether the process answers",
                                json("Live.", ["type": "object", "properties": ["status": ["const": "live"]]])),
            "/health/ready": get("Operations", "getReadiness", "Whether keyed requests can be served now",
                                 json("Ready.", ref("Readiness")),
                                 more: ["503": json("The database cannot be reached.", ref("Readiness"))]),
            "/metrics": get("Operations", "getMetrics", "Prometheus metrics", [
                "description": "The text exposition format.",
                "content": ["text/plain": ["schema": ["type": "string"]]],
            ]),
            "/openapi.json": get("Operations", "getOpenAPI", "This document",
                                 json("OpenAPI 3.1.", ["type": "object", "required": ["openapi", "paths"]])),
        ]
    }

    static func accountPaths() -> [String: JSONValue] {
        let failures = errors([400, 401, 403, 500, 503])
        return [
            "/v1/me": get("Account", "getMe", "The key's tier and today's use of each daily quota",
                          json("The key.", ref("KeyOverview")), keyed: true, more: failures),
            "/v1/me/usage": get("Account", "getMyUsage", "The key's requests per UTC day, per category",
                                json("Days, oldest first, today last.", ref("DailyUsage")), keyed: true,
                                parameters: [queryInteger("days", KeyAccountController.daysRange, default: 30)],
                                more: failures),
            "/v1/me/requests": get("Account", "getMyRequests", "The key's latest requests, newest first",
                                   json("Requests.", ["type": "object", "required": ["data"], "properties": [
                                       "data": ["type": "array", "items": ref("RequestRecord")],
                                   ]]), keyed: true,
                                   parameters: [queryInteger("limit", KeyAccountController.requestsRange, default: 50)],
                                   more: failures),
        ]
    }

    private static func get(
        _ tag: String, _ id: String, _ summary: String, _ ok: JSONValue, keyed: Bool = false,
        parameters: [JSONValue] = [], more: [String: JSONValue] = [:]
    ) -> JSONValue {
        let description = keyed
            ? "Needs the key in the Authorization header (a GET has no body for `token`)." : "No key needed."
        var responses = more
        responses["200"] = ok
        var operation = operation(tag, id, summary, description, parameters: parameters, responses: responses)
        if keyed, case .object(var object) = operation {
            object["security"] = [["bearerAuth": []]]
            operation = .object(object)
        }
        return ["get": operation]
    }

    private static func pathParameter(_ name: String, _ description: String) -> JSONValue {
        ["name": .string(name), "in": "path", "required": true, "description": .string(description),
         "schema": ["type": "string"]]
    }

    private static func queryInteger(_ name: String, _ range: ClosedRange<Int>, default value: Int) -> JSONValue {
        ["name": .string(name), "in": "query", "required": false,
         "schema": ["type": "integer", "minimum": .integer(Int64(range.lowerBound)),
                    "maximum": .integer(Int64(range.upperBound)), "default": .integer(Int64(value))]]
    }

    static var catalogSchemas: [String: JSONValue] {
        let count: JSONValue = ["type": "integer", "minimum": 0]
        let totals: JSONValue = ["type": "object", "properties": [
            "requests": count, "counted": count, "failed": count, "prompt_tokens": count, "completion_tokens": count,
        ]]
        let date: JSONValue = ["type": ["string", "null"], "format": "date-time"]
        return [
            "Model": ["type": "object", "required": ["id", "object"], "properties": [
                "id": ["type": "string"], "object": ["const": "model"], "created": ["type": "integer"],
                "owned_by": ["type": "string"], "vision": ["type": "boolean"],
            ]],
            "ModelList": ["type": "object", "required": ["object", "data"], "properties": [
                "object": ["const": "list"], "data": ["type": "array", "items": ref("Model")],
            ]],
            "ImageModel": ["type": "object", "required": ["name", "defaults"], "properties": [
                "name": ["type": "string"], "defaults": ["type": "object"],
                "samplers": ["type": "array", "items": ["type": "string"]],
                "loras": ["type": "array", "items": ["type": "string"]],
            ]],
            "Readiness": ["type": "object", "required": ["status"], "properties": [
                "status": ["enum": ["ready", "unready"]], "database": ["type": "string"],
            ]],
            "Key": ["type": "object", "required": ["id", "prefix", "tier", "effective_tier"], "properties": [
                "id": ["type": "integer"], "prefix": ["type": "string"], "label": ["type": ["string", "null"]],
                "tier": ["enum": .array(Tier.allCases.map { .string($0.rawValue) })],
                "tier_until": date, "effective_tier": ["enum": .array(Tier.allCases.map { .string($0.rawValue) })],
                "tier_name": ["type": "string"], "active": ["type": "boolean"],
                "deactivation_reason": ["type": ["string", "null"]], "created_at": date, "revoked_at": date,
            ]],
            "KeyOverview": ["type": "object", "required": ["key", "today"], "properties": [
                "key": ref("Key"),
                "today": ["type": "object", "additionalProperties": ["type": "object", "properties": [
                    "used": count, "per_day": ["type": ["integer", "null"]], "limit": ["type": "string"],
                ]]],
                "concurrency": ["type": ["integer", "null"]],
            ]],
            "DailyUsage": ["type": "object", "required": ["days", "totals"], "properties": [
                "days": ["type": "array", "items": [
                    "type": "object", "required": ["date"],
                    "properties": ["date": ["type": "string", "format": "date"]], "additionalProperties": totals,
                ]],
                "totals": ["type": "object", "additionalProperties": totals],
            ]],
            "RequestRecord": ["type": "object", "properties": [
                "created_at": date, "category": ["enum": .array(UsageCategory.allCases.map { .string($0.rawValue) })],
                "model": ["type": "string"], "status": ["type": "integer"], "prompt_tokens": count,
                "completion_tokens": count, "duration_ms": count,
            ]],
        ]
    }
}
