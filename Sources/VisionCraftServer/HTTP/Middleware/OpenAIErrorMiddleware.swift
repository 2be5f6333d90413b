import Hummingbird
import Logging

/// Renders every failure in OpenAI's error shape, so SDKs raise the right exception, and makes
/// sure nothing unexpected leaks: unknown errors become a bare 500 with the request id.
struct OpenAIErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.naming(requestID: context.id).response()
        } catch let error as HTTPError {
            return Self.translate(error, path: request.uri.path).naming(requestID: context.id).response()
        } catch {
            context.logger.error("Unhandled error", metadata: ["error.type": "\(type(of: error))"])
            return APIError.internalError.naming(requestID: context.id).response()
        }
    }

    static func translate(_ error: HTTPError, path: String) -> APIError {
        switch error.status {
        case .notFound: .notFound(path)
        case .methodNotAllowed: .methodNotAllowed()
        case .contentTooLarge: APIError(status: .contentTooLarge, message: "The request body is too large.",
                                        type: "invalid_request_error", code: "request_too_large")
        default:
            APIError(status: error.status, message: error.body ?? error.status.reasonPhrase,
                     type: error.status.code < 500 ? "invalid_request_error" : "server_error")
        }
    }
}

extension APIError {
    /// A failure on our side names the request, so what a user quotes finds the log lines that
    /// say what happened (the upstream's own words are there, never here).
    func naming(requestID: String) -> APIError {
        guard status.code >= 500 else { return self }
        var error = self
        error.message += " Request id: \(requestID)."
        return error
    }

    func response() -> Response {
        var response = Response.json(errorBody, status: status)
        response.headers.append(contentsOf: headers)
        return response
    }
}
