import HTTPTypes
import Hummingbird
import Logging

/// One log line and one set of metrics per request, and the request id echoed to the client so
/// a user can quote it. Keys never appear here: only the method, route and status.
struct RequestObservationMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let started = ContinuousClock.now
        var response = try await next(request, context)
        let elapsed = ContinuousClock.now - started
        let route = context.endpointPath ?? "unmatched"
        response.headers[.requestID] = context.id
        metrics.requestCompleted(
            method: request.method.rawValue, route: route, status: response.status.code, duration: elapsed)
        context.logger.info(
            "\(request.method) \(route) \(response.status.code)",
            metadata: ["duration_ms": "\(elapsed.nanoseconds / 1_000_000)"])
        return response
    }
}

extension HTTPField.Name {
    static let requestID = HTTPField.Name("X-Request-Id")!
    static let seed = HTTPField.Name("X-Seed")!
}
