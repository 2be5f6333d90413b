import AsyncHTTPClient
import NIOCore

/// One request to an image server, its answer collected whole (images are large, so up to 256 MB)
/// and its failures turned into `BackendError`s the way every upstream's are.
enum ImageUpstreamCall {
    static let maximumResponseBytes = 256 * 1024 * 1024

    static func bytes(_ client: HTTPClient, _ request: HTTPClientRequest, timeout: TimeAmount) async throws(BackendError)
        -> ByteBuffer
    {
        let response: HTTPClientResponse
        let body: ByteBuffer
        do {
            response = try await client.execute(request, timeout: timeout)
            body = try await response.body.collect(upTo: maximumResponseBytes)
        } catch {
            throw UpstreamFailure.from(error)
        }
        guard response.status == .ok else { throw UpstreamFailure.from(status: response.status, body: body) }
        return body
    }

    static func json(_ client: HTTPClient, _ request: HTTPClientRequest, timeout: TimeAmount) async throws(BackendError)
        -> JSONValue
    {
        let body = try await bytes(client, request, timeout: timeout)
        guard let json = try? JSONValue.parse(body.readableBytesView) else {
            throw BackendError(.failed, "The backend answered with something that is not JSON.")
        }
        return json
    }
}
