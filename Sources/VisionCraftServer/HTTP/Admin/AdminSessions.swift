import Crypto
import Foundation

/// The operator console's sign-in: the admin token (from the environment) is exchanged for a
/// session cookie, and each session has a CSRF token the page sends with every change.
///
/// Sessions are signed, not stored: `v1.<expiry>.<nonce>.<mac>`, the MAC keyed by a hash of the
/// admin token. Every replica sharing the token accepts every session without a table, and
/// changing the token ends them all. The CSRF token is a second MAC of the session's nonce, so a
/// page on another site, which can make the browser send the cookie but never read it, cannot
/// produce it.
struct AdminSessions: Sendable {
    private let key: [UInt8]
    let lifetime: TimeInterval

    /// Shorter tokens are refused at start-up: a guessable token is worse than no console.
    static let minimumTokenLength = 16
    static let cookieName = "visioncraft_admin"

    init(adminToken: String, lifetime: TimeInterval = 12 * 3600) {
        key = Array(SHA256.hash(data: Data("visioncraft-admin-session|\(adminToken)".utf8)))
        self.lifetime = lifetime
        expected = Array(SHA256.hash(data: Data(adminToken.utf8)))
    }

    /// The token's hash: a presented token is compared hash to hash, so the comparison takes the
    /// same time wherever the first differing byte is.
    private let expected: [UInt8]

    func tokenMatches(_ presented: String) -> Bool {
        Self.constantTimeEqual(Array(SHA256.hash(data: Data(presented.utf8))), expected)
    }

    struct Session: Sendable, Equatable {
        let cookie: String
        let csrfToken: String
        let expires: Date
    }

    func start(now: Date) -> Session {
        var nonce = [UInt8](repeating: 0, count: 18)
        var generator = SystemRandomNumberGenerator()
        for index in nonce.indices { nonce[index] = generator.next() }
        let expires = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + lifetime).rounded(.down))
        let body = "v1.\(Int64(expires.timeIntervalSince1970)).\(Self.base64URL(nonce))"
        return Session(cookie: "\(body).\(mac(body))", csrfToken: csrf(nonce: Self.base64URL(nonce)), expires: expires)
    }

    /// The session a cookie carries, if it is ours and has not expired.
    func session(cookie: String?, now: Date) -> Session? {
        guard let cookie else { return nil }
        let parts = cookie.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "v1", let expiry = Int64(parts[1]) else { return nil }
        let body = parts[0...2].joined(separator: ".")
        guard Self.constantTimeEqual(mac(body), String(parts[3])) else { return nil }
        let expires = Date(timeIntervalSince1970: Double(expiry))
        guard expires > now else { return nil }
        return Session(cookie: cookie, csrfToken: csrf(nonce: String(parts[2])), expires: expires)
    }

    private func mac(_ text: String) -> String {
        Self.base64URL(Array(HMAC<SHA256>.authenticationCode(for: Data(text.utf8), using: SymmetricKey(data: key))))
    }

    private func csrf(nonce: String) -> String { mac("csrf|\(nonce)") }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        constantTimeEqual(Array(a.utf8), Array(b.utf8))
    }

    static func constantTimeEqual(_ x: [UInt8], _ y: [UInt8]) -> Bool {
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }

    static func base64URL(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-")
            .replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
