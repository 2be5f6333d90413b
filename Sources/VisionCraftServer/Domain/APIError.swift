import HTTPTypes

/// Every failure a client can see. Rendered in OpenAI's error shape by `OpenAIErrorMiddleware`,
/// so the official SDKs raise the matching exception class.
public struct APIError: Error, Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var message: String
    public var type: String
    public var param: String?
    public var code: String?
    /// Extra response headers, such as `Retry-After` on a 429.
    public var headers: HTTPFields

    public init(
        status: HTTPResponse.Status, message: String, type: String, param: String? = nil, code: String? = nil,
        headers: HTTPFields = [:]
    ) {
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers
    }
}

extension APIError {
    public static func invalidJSON(_ detail: String) -> APIError {
        .init(status: .badRequest, message: "The request body is not valid JSON: \(detail)", type: "invalid_request_error",
              code: "invalid_json")
    }

    public static func missingParameter(_ param: String) -> APIError {
        .init(status: .badRequest, message: "Missing required parameter: '\(param)'.", type: "invalid_request_error",
              param: param, code: "missing_required_parameter")
    }

    public static func invalidParameter(_ param: String, _ message: String) -> APIError {
        .init(status: .badRequest, message: message, type: "invalid_request_error", param: param, code: "invalid_value")
    }

    public static func unknownModel(_ name: String, param: String = "model") -> APIError {
        .init(status: .badRequest, message: "The model '\(name)' does not exist or is not served here.",
              type: "invalid_request_error", param: param, code: "model_not_found")
    }

    /// For `/sd`: also says where checkpoints go, since a fresh server has none.
    public static func unknownImageModel(_ name: String) -> APIError {
        .init(status: .badRequest,
              message: "The image model '\(name)' does not exist or is not served here. GET /sd/models lists the "
                + "served ones; Stable Diffusion checkpoints (.safetensors) dropped into the server's models/sd "
                + "folder are served under their file name.",
              type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    /// For `/text2gif`: says what an animation needs, since a fresh server has none.
    public static func unknownGIFModel(_ name: String?) -> APIError {
        .init(status: .badRequest,
              message: (name.map { "The GIF model '\($0)' does not exist or is not served here. " } ?? "This server has no GIF model. ")
                + "A GIF model is an AnimateDiff motion module (.safetensors) in the server's models/motion folder, "
                + "served under its file name with the first SD 1.x checkpoint in models/sd, or an entry in gif_models.",
              type: "invalid_request_error", param: "model", code: "model_not_found")
    }

    public static let missingKey = APIError(
        status: .unauthorized,
        message: "No API key provided. Send it as 'Authorization: Bearer KEY' or as the JSON field 'token'.",
        type: "invalid_request_error", code: "missing_api_key")

    public static let unknownKey = APIError(
        status: .unauthorized, message: "Incorrect API key provided.", type: "invalid_request_error",
        code: "invalid_api_key")

    public static func keyDeactivated(_ reason: String) -> APIError {
        .init(status: .forbidden, message: "This API key is deactivated: \(reason)", type: "permission_error",
              code: "key_deactivated")
    }

    public static func quotaExhausted(_ message: String) -> APIError {
        .init(status: .forbidden, message: message, type: "insufficient_quota", code: "quota_exceeded")
    }

    public static func rateLimited(_ message: String, retryAfterSeconds: Int) -> APIError {
        var headers = HTTPFields()
        headers[.retryAfter] = String(max(1, retryAfterSeconds))
        return .init(status: .tooManyRequests, message: message, type: "rate_limit_error", code: "rate_limit_exceeded",
                     headers: headers)
    }

    public static func bodyTooLarge(limit: Int) -> APIError {
        .init(status: .contentTooLarge, message: "The request body is larger than the \(limit) bytes this server accepts.",
              type: "invalid_request_error", code: "request_too_large")
    }

    public static func notFound(_ path: String) -> APIError {
        .init(status: .notFound, message: "Unknown path: \(path)", type: "invalid_request_error", code: "not_found")
    }

    /// `allow`: the methods the path does answer (RFC 9110 requires them in `Allow`).
    public static func methodNotAllowed(allow: [String] = []) -> APIError {
        .init(status: .methodNotAllowed,
              message: "This method is not allowed on this path" + (allow.isEmpty ? "." : "; use \(allow.joined(separator: " or "))."),
              type: "invalid_request_error", code: "method_not_allowed",
              headers: allow.isEmpty ? [:] : [.allow: allow.joined(separator: ", ")])
    }

    public static func backendFailed(_ message: String) -> APIError {
        .init(status: .badGateway, message: message, type: "upstream_error", code: "backend_error")
    }

    /// With `retryAfterSeconds`, a `Retry-After` header: the backend said it is busy, not broken.
    public static func backendUnavailable(_ message: String, retryAfterSeconds: Int? = nil) -> APIError {
        .init(status: .serviceUnavailable, message: message, type: "upstream_error", code: "backend_unavailable",
              headers: retryAfterSeconds.map { [.retryAfter: String($0)] } ?? [:])
    }

    /// The shared database cannot be reached (a replica's PostgreSQL restarting): the request is
    /// refused at once, with a hint to retry, rather than held until the database returns.
    public static let storageUnavailable = APIError(
        status: .serviceUnavailable, message: "The server's database is unreachable at the moment; try again shortly.",
        type: "server_error", code: "database_unavailable", headers: [.retryAfter: "1"])

    public static func backendTimedOut(_ message: String) -> APIError {
        .init(status: .gatewayTimeout, message: message, type: "upstream_error", code: "backend_timeout")
    }

    public static let internalError = APIError(
        status: .internalServerError, message: "The server had an unexpected error while handling the request.",
        type: "server_error", code: "internal_error")
}
