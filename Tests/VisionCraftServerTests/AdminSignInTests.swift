import Foundation
import Testing
@testable import VisionCraftServer

/// The operator console's sign-in, without I/O: the throttle's decisions and the signed sessions.
struct AdminSignInTests {
    let start = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func anAddressIsRefusedAfterItsFailuresUntilTheWindowEnds() {
        var throttle = LoginThrottle(perAddress: 3, overall: 100, window: 60)
        for second in 0..<3 {
            #expect(throttle.attempt(from: "a", now: start + Double(second)) == .allowed)
            throttle.failed(from: "a", now: start + Double(second))
        }
        #expect(throttle.attempt(from: "a", now: start + 10) == .refused(retryAfter: 50))
        #expect(throttle.attempt(from: "b", now: start + 10) == .allowed)
        #expect(throttle.attempt(from: "a", now: start + 59.5) == .refused(retryAfter: 1))
        #expect(throttle.attempt(from: "a", now: start + 60) == .allowed)
    }

    @Test func failuresFromEveryAddressTogetherAreBoundedToo() {
        var throttle = LoginThrottle(perAddress: 3, overall: 4, window: 60)
        for address in ["a", "b", "c", "d"] {
            #expect(throttle.attempt(from: address, now: start) == .allowed)
            throttle.failed(from: address, now: start + 1)
        }
        #expect(throttle.attempt(from: "e", now: start + 30) == .refused(retryAfter: 31))
        #expect(throttle.attempt(from: "e", now: start + 61) == .allowed)
    }

    @Test func aSuccessForgetsThatAddressesFailures() {
        var throttle = LoginThrottle(perAddress: 2, overall: 100, window: 60)
        throttle.failed(from: "a", now: start)
        throttle.succeeded(from: "a")
        throttle.failed(from: "a", now: start + 1)
        #expect(throttle.attempt(from: "a", now: start + 2) == .allowed)
    }

    @Test func sessionsAreSignedExpireAndBelongToTheirToken() {
        let sessions = AdminSessions(adminToken: "the-admin-token-0123", lifetime: 3600)
        let session = sessions.start(now: start)
        #expect(sessions.session(cookie: session.cookie, now: start + 3599) == session)
        #expect(sessions.session(cookie: session.cookie, now: start + 3600) == nil)
        #expect(AdminSessions(adminToken: "another-admin-token-99").session(cookie: session.cookie, now: start) == nil)
        // Any change to the cookie (a later expiry, another nonce) breaks its signature.
        var parts = session.cookie.split(separator: ".").map(String.init)
        parts[1] = String(Int(parts[1])! + 86_400)
        #expect(sessions.session(cookie: parts.joined(separator: "."), now: start) == nil)
        #expect(sessions.session(cookie: "v1.x.y.z", now: start) == nil)
        #expect(sessions.session(cookie: nil, now: start) == nil)
        // Each session has its own CSRF token, which the cookie alone does not reveal.
        let second = sessions.start(now: start)
        #expect(second.csrfToken != session.csrfToken && !session.cookie.contains(session.csrfToken))
        #expect(sessions.tokenMatches("the-admin-token-0123") && !sessions.tokenMatches("the-admin-token-012"))
    }

    @Test func aShortAdminTokenIsRefusedAtStartUp() async throws {
        await #expect(throws: ConfigurationError.self) {
            _ = try await TestEnvironment.make(environment: ["VISIONCRAFT_ADMIN_TOKEN": "short"])
        }
    }
}
