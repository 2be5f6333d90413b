import Foundation
import HTTPTypes
import Hummingbird
import NIOConcurrencyHelpers

/// Who may use the operator console's API: sign-in (throttled), the session cookie, and the CSRF
/// token every change must carry. API keys mean nothing here — the console never looks at them.
struct AdminGuard: Sendable {
    let sessions: AdminSessions
    let throttle: NIOLockedValueBox<LoginThrottle>
    let clock: WallClock

    init(sessions: AdminSessions, throttle: LoginThrottle = LoginThrottle(), clock: WallClock) {
        self.sessions = sessions
        self.throttle = NIOLockedValueBox(throttle)
        self.clock = clock
    }

    /// Checks a presented admin token for `address`; the session on success.
    func signIn(token: String, from address: String) throws(APIError) -> AdminSessions.Session {
        let now = clock.now()
        let decision = throttle.withLockedValue { $0.attempt(from: address, now: now) }
        if case .refused(let seconds) = decision {
            throw APIError(status: .tooManyRequests,
                           message: "Too many failed sign-ins; try again in \(seconds) seconds.",
                           type: "rate_limit_error", code: "too_many_sign_ins",
                           headers: [.retryAfter: String(seconds)])
        }
        guard sessions.tokenMatches(token) else {
            throttle.withLockedValue { $0.failed(from: address, now: now) }
            throw APIError(status: .unauthorized, message: "Wrong admin token.", type: "invalid_request_error",
                           code: "invalid_admin_token")
        }
        throttle.withLockedValue { $0.succeeded(from: address) }
        return sessions.start(now: now)
    }

    /// The request's session, or the 401 that sends the console to its sign-in form.
    func session(_ request: Request) throws(APIError) -> AdminSessions.Session {
        guard let session = sessions.session(cookie: request.cookies[AdminSessions.cookieName]?.value, now: clock.now())
        else { throw Self.signInRequired }
        return session
    }

    /// A change: the session, and its CSRF token in `X-CSRF-Token`. A JSON content type is
    /// required as well, which a form on another site cannot send without a preflight.
    func change(_ request: Request) throws(APIError) -> AdminSessions.Session {
        let session = try session(request)
        guard let presented = request.headers[Self.csrfHeader],
              AdminSessions.constantTimeEqual(presented, session.csrfToken)
        else {
            throw APIError(status: .forbidden, message: "Missing or wrong CSRF token; reload the console.",
                           type: "permission_error", code: "invalid_csrf_token")
        }
        try Self.requireJSON(request)
        return session
    }

    static func requireJSON(_ request: Request) throws(APIError) {
        guard request.headers[.contentType]?.lowercased().hasPrefix("application/json") == true else {
            throw APIError(status: .unsupportedMediaType, message: "Send the body as application/json.",
                           type: "invalid_request_error", code: "unsupported_media_type")
        }
    }

    /// The cookie: HttpOnly, SameSite=Strict, scoped to the console; Secure when the client
    /// reached us over TLS (a proxy in front says so in `X-Forwarded-Proto`).
    static func cookie(_ session: AdminSessions.Session?, request: Request, now: Date) -> Cookie {
        let secure = request.headers[forwardedProto]?.lowercased() == "https"
        return Cookie(name: AdminSessions.cookieName, value: session?.cookie ?? "",
                      maxAge: session.map { max(0, Int($0.expires.timeIntervalSince(now))) } ?? 0,
                      path: "/admin", secure: secure, httpOnly: true, sameSite: .strict)
    }

    static let csrfHeader = HTTPField.Name("X-CSRF-Token")!
    static let forwardedProto = HTTPField.Name("X-Forwarded-Proto")!

    static let signInRequired = APIError(
        status: .unauthorized, message: "Sign in to the operator console first.", type: "invalid_request_error",
        code: "admin_session_required")
}
