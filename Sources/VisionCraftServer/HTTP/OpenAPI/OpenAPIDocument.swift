/// The OpenAPI 3.1 description of the public API, served at `/openapi.json` and rendered by
/// `/docs`. Built from the same range constants the requests are validated with, so a range in
/// the document cannot drift from the one enforced; schemathesis checks the rest against the live
/// server (`make test`).
///
/// Optional fields are nullable because the server, as OpenAI's API, reads `null` as "absent".
enum OpenAPIDocument {
    static func make(policies: TierPolicies) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        paths.merge(generationPaths(), uniquingKeysWith: { a, _ in a })
        paths.merge(catalogPaths(), uniquingKeysWith: { a, _ in a })
        paths.merge(accountPaths(), uniquingKeysWith: { a, _ in a })
        return [
            "openapi": "3.1.0",
            "info": [
                "title": "VisionCraft API",
                "version": "1.0.0",
                "summary": "OpenAI-compatible chat, Stable Diffusion images and text-to-GIF behind one API key.",
                "description": .string(description(policies)),
                "license": ["name": "MIT", "identifier": "MIT"],
            ],
            "servers": [["url": "/", "description": "This server"]],
            "tags": [
                ["name": "Chat", "description": "OpenAI-compatible chat completions."],
                ["name": "Images", "description": "Stable Diffusion images and AnimateDiff GIFs, answered as raw bytes."],
                ["name": "Catalog", "description": "What this server can serve, and its limits. No key needed."],
                ["name": "Account", "description": "A key's own tier and usage."],
                ["name": "Operations", "description": "Health and metrics for operators and orchestrators."],
            ],
            "paths": .object(paths),
            "components": components,
        ]
    }

    private static func description(_ policies: TierPolicies) -> String {
        var lines = [
            "Every keyed endpoint takes the key as `Authorization: Bearer KEY` or as the JSON body field `token`.",
            "Every error is JSON in OpenAI's shape (`{\"error\": {\"message\", \"type\", \"param\", \"code\"}}`).",
            "", "Tiers on this server (`GET /limits`):", "",
        ]
        for tier in Tier.allCases {
            let policy = policies[tier]
            let categories = UsageCategory.allCases.map { "\($0.rawValue): \(policy[$0].summary)" }
            lines.append("- **\(policy.displayName)** — " + categories.joined(separator: "; "))
        }
        return lines.joined(separator: "\n")
    }

    // MARK: Building blocks

    /// The key: the header scheme, or none (`{}`) for a key in the body's `token` field.
    static let keyed: JSONValue = [["bearerAuth": []], [:]]

    static func ref(_ name: String) -> JSONValue { ["$ref": .string("#/components/schemas/\(name)")] }

    static func integer(_ range: ClosedRange<Int>, default value: Int? = nil, _ description: String) -> JSONValue {
        var schema: [String: JSONValue] = [
            "type": ["integer", "null"], "minimum": .integer(Int64(range.lowerBound)),
            "maximum": .integer(Int64(range.upperBound)), "description": .string(description),
        ]
        if let value { schema["default"] = .integer(Int64(value)) }
        return .object(schema)
    }

    static func number(_ range: ClosedRange<Double>, default value: Double, _ description: String) -> JSONValue {
        ["type": ["number", "null"], "minimum": .number(range.lowerBound), "maximum": .number(range.upperBound),
         "default": .number(value), "description": .string(description)]
    }

    static func string(_ description: String, required: Bool = false) -> JSONValue {
        required ? ["type": "string", "minLength": 1, "description": .string(description)]
            : ["type": ["string", "null"], "description": .string(description)]
    }

    static let seed: JSONValue = [
        "type": ["integer", "null"],
        "description": "Makes the output repeatable; negative seeds count as their 64-bit two's complement.",
    ]

    static let token: JSONValue = [
        "type": "string", "description": "The API key, when not sent in the Authorization header.",
    ]

    /// A JSON request body of `schema`, with the example the docs page turns into code.
    static func jsonBody(_ schema: JSONValue, example: JSONValue) -> JSONValue {
        ["required": true, "content": ["application/json": ["schema": schema, "example": example]]]
    }

    static func json(_ description: String, _ schema: JSONValue) -> JSONValue {
        ["description": .string(description), "content": ["application/json": ["schema": schema]]]
    }

    /// The error answers of an operation, by status.
    static func errors(_ statuses: [Int]) -> [String: JSONValue] {
        var responses: [String: JSONValue] = [:]
        for status in statuses {
            var response: [String: JSONValue] = [
                "description": .string(errorMeanings[status] ?? "Error."),
                "content": ["application/json": ["schema": ref("Error")]],
            ]
            if status == 429 || status == 503 {
                response["headers"] = ["Retry-After": [
                    "description": "Seconds to wait before trying again.", "schema": ["type": "integer"],
                ]]
            }
            responses[String(status)] = .object(response)
        }
        return responses
    }

    static let errorMeanings: [Int: String] = [
        400: "Malformed JSON, a missing or out-of-range parameter, an unknown model, sampler or LoRA.",
        401: "The key is missing or unknown.",
        403: "The key is deactivated, or a daily or monthly quota of its tier is used up.",
        404: "No such path or model.",
        413: "The body is larger than the server accepts.",
        415: "The body is not JSON.",
        429: "Too many requests for the key's tier; see Retry-After.",
        500: "Unexpected; the message names the request id for the operator's logs.",
        502: "The inference backend failed.",
        503: "The backend or the database is unavailable or busy; see Retry-After.",
        504: "The backend took too long.",
    ]

    static let keyedErrors = [400, 401, 403, 413, 415, 429, 500, 502, 503, 504]

    static func operation(
        _ tag: String, _ id: String, _ summary: String, _ description: String, keyed: Bool = false,
        parameters: [JSONValue] = [], body: JSONValue? = nil, responses: [String: JSONValue]
    ) -> JSONValue {
        var operation: [String: JSONValue] = [
            "tags": [.string(tag)], "operationId": .string(id), "summary": .string(summary),
            "description": .string(description), "responses": .object(responses),
        ]
        if keyed { operation["security"] = self.keyed } else { operation["security"] = [] }
        if !parameters.isEmpty { operation["parameters"] = .array(parameters) }
        if let body { operation["requestBody"] = body }
        return .object(operation)
    }

    // MARK: Components

    static var components: JSONValue {
        [
            "securitySchemes": [
                "bearerAuth": ["type": "http", "scheme": "bearer", "description": "An API key from the operator's Telegram bot or CLI."],
            ],
            "schemas": .object(chatSchemas.merging(catalogSchemas, uniquingKeysWith: { a, _ in a }).merging([
                "Error": [
                    "type": "object", "required": ["error"],
                    "properties": ["error": [
                        "type": "object", "required": ["message", "type"],
                        "properties": [
                            "message": ["type": "string"], "type": ["type": "string"],
                            "param": ["type": ["string", "null"]], "code": ["type": ["string", "null"]],
                        ],
                    ]],
                ],
            ], uniquingKeysWith: { a, _ in a })),
        ]
    }
}
