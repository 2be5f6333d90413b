import AsyncHTTPClient
import Foundation
import NIOCore

/// Images from an OpenAI-compatible `/v1/images/generations` endpoint (OpenAI, LocalAI, hosted
/// APIs). Only the standard fields are sent — model, prompt, one image, its size, base64 answer —
/// unless `sendsExtensions`, which adds `negative_prompt`, `seed`, `step` and `cfg_scale` for servers
/// that read them (LocalAI does). There are no samplers or LoRAs to choose.
public struct OpenAIImageBackend: ImageBackend {
    public let id: String
    let endpoint: UpstreamEndpoint
    let upstreamModel: String
    let sendsExtensions: Bool
    let client: HTTPClient

    public init(endpoint: UpstreamEndpoint, upstreamModel: String, sendsExtensions: Bool, client: HTTPClient) {
        self.endpoint = endpoint
        self.upstreamModel = upstreamModel
        self.sendsExtensions = sendsExtensions
        self.client = client
        id = "openai-images:\(endpoint.displayHost)/\(upstreamModel)"
    }

    /// Reachability: the server lists its models.
    public func capabilities() async throws(BackendError) -> ImageCapabilities {
        _ = try await ImageUpstreamCall.json(client, endpoint.request("/models", method: .GET), timeout: endpoint.requestTimeout)
        return ImageCapabilities(samplers: [], loras: [])
    }

    public func generateImage(_ request: ImageGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        var body: [String: JSONValue] = [
            "model": .string(upstreamModel), "prompt": .string(request.prompt), "n": 1,
            "size": .string("\(request.width)x\(request.height)"), "response_format": "b64_json",
        ]
        if sendsExtensions {
            body["seed"] = .integer(Int64(truncatingIfNeeded: seed))
            body["step"] = .integer(Int64(request.steps))
            body["cfg_scale"] = .integer(Int64(request.cfgScale))
            if !request.negativePrompt.isEmpty { body["negative_prompt"] = .string(request.negativePrompt) }
        }
        let json = try await ImageUpstreamCall.json(
            client, endpoint.request("/images/generations", method: .POST, json: .object(body)), timeout: endpoint.requestTimeout)
        guard let first = json["data"]?.arrayValue?.first else { throw BackendError(.failed, "The backend returned no image.") }
        let bytes: [UInt8]
        if let encoded = first["b64_json"]?.stringValue {
            guard let data = Data(base64Encoded: encoded) else { throw BackendError(.failed, "The backend's image is not base64.") }
            bytes = [UInt8](data)
        } else if let url = first["url"]?.stringValue {
            // Some servers answer with a link to the file instead.
            var download = HTTPClientRequest(url: url)
            download.headers = endpoint.headers(json: false)
            bytes = Array(try await ImageUpstreamCall.bytes(client, download, timeout: endpoint.requestTimeout).readableBytesView)
        } else {
            throw BackendError(.failed, "The backend returned no image.")
        }
        guard bytes.starts(with: A1111ImageBackend.pngSignature) else {
            throw BackendError(.failed, "The backend's image is not a PNG.")
        }
        return GeneratedMedia(bytes: bytes, seed: seed)
    }

    public func generateGIF(_ request: GIFGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        throw BackendError(.rejected, "This image server does not make GIFs.")
    }
}
