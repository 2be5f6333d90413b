import Foundation
import Hummingbird
import NIOCore

/// The first steps of every keyed endpoint: read the body within the size cap, parse it, find the
/// key (Bearer header or `token` field) and authenticate it.
struct KeyedRequestReader: Sendable {
    let services: AppServices

    func read(_ request: inout Request) async throws -> (json: JSONValue, key: APIKeyRecord) {
        let limit = services.configuration.maxBodyBytes
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError.bodyTooLarge(limit: limit)
        }
        let json: JSONValue
        do {
            json = try JSONValue.parse(buffer.readableBytesView)
        } catch {
            throw APIError.invalidJSON("it could not be parsed.")
        }
        let presented = Self.bearerToken(request.headers[.authorization]) ?? json["token"]?.stringValue
        let key = try await services.authenticator.authenticate(presented)
        return (json, key)
    }

    static func bearerToken(_ header: String?) -> String? {
        guard let header else { return nil }
        // Keys are base64url: spaces and tabs can only surround the scheme and the key.
        let fields = header.split(whereSeparator: { $0 == " " || $0 == "\t" })
        guard fields.count == 2, fields[0].lowercased() == "bearer" else { return nil }
        return String(fields[1])
    }
}
