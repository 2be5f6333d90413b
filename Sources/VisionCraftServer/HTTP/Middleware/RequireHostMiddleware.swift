import Hummingbird

/// RFC 9112 §3.2: a server must answer 400 to a request without a `Host` header.
struct RequireHostMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        guard let host = request.head.authority, !host.isEmpty else {
            throw APIError(status: .badRequest, message: "The request has no Host header.",
                           type: "invalid_request_error", code: "missing_host")
        }
        return try await next(request, context)
    }
}
