import HTTPTypes
import Hummingbird

/// Which methods each routed path answers, so that a known path asked with another method gets
/// 405 and `Allow` (RFC 9110 §15.5.6) rather than the router's 404: the client learns that its
/// mistake is the method. Any method counts, including ones the router has never heard of.
struct AllowedMethods: Sendable {
    private let routes: [(path: RouterPath, methods: Set<HTTPRequest.Method>)]

    init(_ routes: [Router<AppRequestContext>.RouteDescription]) {
        self.routes = Dictionary(grouping: routes, by: { $0.path.description }).values.map { group in
            (group[0].path, Set(group.map(\.method)))
        }
    }

    /// The methods `path` answers (HEAD wherever GET is), or nil for a path no route matches.
    func allowed(path: String) -> [String]? {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        var methods = Set<HTTPRequest.Method>()
        for route in routes where Self.matches(route.path.components, segments) {
            methods.formUnion(route.methods)
        }
        if methods.isEmpty { return nil }
        if methods.contains(.get) { methods.insert(.head) }
        return methods.map(\.rawValue).sorted()
    }

    private static func matches(_ pattern: [RouterPath.Element], _ segments: [Substring]) -> Bool {
        if pattern.last?.description == "**" {
            return segments.count >= pattern.count - 1
                && zip(pattern.dropLast(), segments).allSatisfy { $0 ~= $1 }
        }
        return pattern.count == segments.count && zip(pattern, segments).allSatisfy { $0 ~= $1 }
    }
}

/// The router, with its "no such route" answers turned into 405 where the path exists.
struct MethodCheckingResponder<Base: HTTPResponder>: HTTPResponder where Base.Context == AppRequestContext {
    let base: Base
    let methods: AllowedMethods

    func respond(to request: Request, context: AppRequestContext) async throws -> Response {
        let response = try await base.respond(to: request, context: context)
        guard response.status == .notFound, let allow = methods.allowed(path: request.uri.path),
              !allow.contains(request.method.rawValue)
        else { return response }
        return APIError.methodNotAllowed(allow: allow).response()
    }
}
