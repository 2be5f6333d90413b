import Foundation
import Hummingbird
import NIOCore
import NIOHTTP1

/// The first steps of every keyed endpoint: find the key and authenticate it, read the body within
/// the size cap, parse it. A key in the `Authorization` header is checked before a byte of the
/// body is read; a key in the body's `token` field is read under `UnauthenticatedBodyBudget`.
struct KeyedRequestReader: Sendable {
    let authenticator: KeyAuthenticator
    let maxBodyBytes: Int
    let unauthenticatedBodies: UnauthenticatedBodyBudget

    func read(_ request: inout Request) async throws -> (json: JSONValue, key: APIKeyRecord) {
        let declared = request.headers[.contentLength].flatMap(Int.init)
        if let declared, declared > maxBodyBytes {
            throw APIError.bodyTooLarge(limit: maxBodyBytes).closingConnection()
        }
        if let bearer = Self.bearerToken(request.headers[.authorization]) {
            let key: APIKeyRecord
            do {
                key = try await authenticator.authenticate(bearer)
            } catch let error as APIError {
                throw error.closingConnection()
            }
            var unbounded: UnauthenticatedBodyBudget.Reservation?
            let json = try await Self.parse(collect(&request, declared: declared, reservation: &unbounded))
            try Self.checkTokenField(json)
            return (json, key)
        }
        var reservation: UnauthenticatedBodyBudget.Reservation? = .init(budget: unauthenticatedBodies)
        defer { reservation?.release() }
        // A declared length is taken whole before a byte is read: under a flood the first
        // requests get all they need and finish, and the rest are turned away at once, rather
        // than every request getting part of its body and none finishing.
        if let declared, reservation?.cover(declared) == false { throw APIError.busyReadingBodies }
        let json = try await Self.parse(try await collect(&request, declared: declared, reservation: &reservation))
        try Self.checkTokenField(json)
        return (json, try await authenticator.authenticate(json["token"]?.stringValue))
    }

    /// The whole body, up to the size cap; with a reservation, every chunk is taken from its
    /// budget before it is kept.
    private func collect(
        _ request: inout Request, declared: Int?, reservation: inout UnauthenticatedBodyBudget.Reservation?
    ) async throws -> ByteBuffer {
        // An authenticated body is sized from its Content-Length, so a large one is not copied as
        // it grows; an unauthenticated one gets memory only as its bytes come and fit the budget.
        var body = ByteBuffer()
        if reservation == nil, let declared { body.reserveCapacity(declared) }
        do {
            for try await chunk in request.body {
                let total = body.readableBytes + chunk.readableBytes
                guard total <= maxBodyBytes else { throw APIError.bodyTooLarge(limit: maxBodyBytes).closingConnection() }
                if reservation?.cover(total) == false { throw APIError.busyReadingBodies }
                var chunk = chunk
                body.writeBuffer(&chunk)
            }
        } catch is HTTPParserError {
            throw APIError.malformedBody
        }
        return body
    }

    /// A body past this size is parsed as `HeavyWork` (about a millisecond's worth).
    static let largeBody = 256 * 1024

    static func parse(_ buffer: ByteBuffer) async throws -> JSONValue {
        do {
            guard buffer.readableBytes > largeBody else { return try JSONValue.parse(buffer.readableBytesView) }
            return try await HeavyWork.run { try JSONValue.parse(buffer.readableBytesView) }
        } catch {
            throw APIError.invalidJSON("it could not be parsed.")
        }
    }

    /// A `token` that is not a string is a mistake worth naming, even when the header carries
    /// the key (then the field is not read, but the document says what it must be).
    static func checkTokenField(_ json: JSONValue) throws(APIError) {
        guard let token = json["token"] else { return }
        switch token {
        case .string, .null: return
        default: throw APIError.invalidParameter("token", "'token' must be a string (the API key).")
        }
    }

    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        // Keys are base64url: spaces and tabs can only surround the scheme and the key.
        let fields = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 2, fields[0].lowercased() == "bearer" else { return nil }
        return String(fields[1])
    }
}

extension APIError {
    /// The body could not be decoded as HTTP (a chunk size that is not hexadecimal, say).
    static let malformedBody = APIError(
        status: .badRequest, message: "The request body is malformed HTTP and could not be read.",
        type: "invalid_request_error", code: "malformed_body"
    ).closingConnection()

    static let busyReadingBodies = APIError(
        status: .serviceUnavailable,
        message: "The server is reading too many request bodies whose key is not known yet; retry shortly, or send "
            + "the key in the 'Authorization: Bearer' header.",
        type: "server_error", code: "server_busy", headers: [.retryAfter: "1", .connection: "close"])

    /// Tells the client not to send more on this connection: the rest of the body is not read.
    func closingConnection() -> APIError {
        var error = self
        error.headers[.connection] = "close"
        return error
    }
}
