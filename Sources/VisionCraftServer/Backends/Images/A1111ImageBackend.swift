import AsyncHTTPClient
import Foundation
import NIOCore

/// Images and GIFs through an AUTOMATIC1111 or Forge server's `/sdapi/v1` API; GIFs need its
/// AnimateDiff extension.
public struct A1111ImageBackend: ImageBackend {
    public let id: String
    let endpoint: UpstreamEndpoint
    /// The checkpoint title to switch to per request; `nil` keeps whatever the server has loaded.
    let checkpoint: String?
    /// AnimateDiff's motion module, for GIFs.
    let motionModule: String?
    let client: HTTPClient

    public init(endpoint: UpstreamEndpoint, checkpoint: String?, motionModule: String?, client: HTTPClient) {
        self.endpoint = endpoint
        self.checkpoint = checkpoint
        self.motionModule = motionModule
        self.client = client
        self.id = "a1111:\(endpoint.displayHost)/\(checkpoint ?? "loaded")"
    }

    public func capabilities() async throws(BackendError) -> ImageCapabilities {
        let samplers = try await names(at: "/sdapi/v1/samplers")
        let loras = try await names(at: "/sdapi/v1/loras")
        return ImageCapabilities(samplers: samplers, loras: loras)
    }

    public func generateImage(_ request: ImageGenerationRequest, seed: UInt64) async throws(BackendError)
        -> GeneratedMedia
    {
        var body = commonBody(
            prompt: Self.promptWithLoRAs(request.prompt, request.loras), negativePrompt: request.negativePrompt,
            steps: request.steps, width: request.width, height: request.height, seed: seed)
        body["cfg_scale"] = .number(Double(request.cfgScale))
        if request.clipSkip > 1 {
            var settings = body["override_settings"]?.objectValue ?? [:]
            settings["CLIP_stop_at_last_layers"] = .integer(Int64(request.clipSkip))
            body["override_settings"] = .object(settings)
        }
        if let sampler = request.sampler { body["sampler_name"] = .string(sampler) }
        let (images, usedSeed) = try await txt2img(.object(body), seed: seed)
        guard let png = images.first(where: { $0.starts(with: Self.pngSignature) }) else {
            throw BackendError(.failed, "The backend did not return a PNG image.")
        }
        return GeneratedMedia(bytes: png, seed: usedSeed)
    }

    public func generateGIF(_ request: GIFGenerationRequest, seed: UInt64) async throws(BackendError)
        -> GeneratedMedia
    {
        var body = commonBody(
            prompt: request.prompt, negativePrompt: request.negativePrompt, steps: request.steps,
            width: request.width, height: request.height, seed: seed)
        body["cfg_scale"] = .number(Double(request.cfgScale))
        if let sampler = request.sampler { body["sampler_name"] = .string(sampler) }
        var animateDiff: [String: JSONValue] = [
            "enable": true, "video_length": .number(Double(request.frames)), "fps": .number(Double(request.fps)),
            "format": ["GIF"],
        ]
        if let motionModule { animateDiff["model"] = .string(motionModule) }
        body["alwayson_scripts"] = ["AnimateDiff": ["args": [.object(animateDiff)]]]
        let (images, usedSeed) = try await txt2img(.object(body), seed: seed)
        // AnimateDiff returns the animation among the frames; find it by its magic bytes.
        guard let gif = images.first(where: { $0.starts(with: Array("GIF8".utf8)) }) else {
            throw BackendError(.failed, "The backend did not return a GIF; is AnimateDiff installed there?")
        }
        return GeneratedMedia(bytes: gif, seed: usedSeed)
    }

    func commonBody(prompt: String, negativePrompt: String, steps: Int, width: Int, height: Int, seed: UInt64)
        -> [String: JSONValue]
    {
        var body: [String: JSONValue] = [
            "prompt": .string(prompt), "negative_prompt": .string(negativePrompt),
            "steps": .number(Double(steps)), "width": .number(Double(width)), "height": .number(Double(height)),
            "seed": .number(Double(seed)), "batch_size": 1, "n_iter": 1, "send_images": true, "save_images": false,
        ]
        if let checkpoint {
            body["override_settings"] = ["sd_model_checkpoint": .string(checkpoint)]
            // Restoring would reload the previous checkpoint after every request.
            body["override_settings_restore_afterwards"] = false
        }
        return body
    }

    /// LoRAs are applied by A1111's prompt syntax, `<lora:name:weight>`.
    static func promptWithLoRAs(_ prompt: String, _ loras: [LoRAWeight]) -> String {
        guard !loras.isEmpty else { return prompt }
        let tags = loras.map { "<lora:\($0.name):\(ParameterReader.format($0.weight))>" }
        return ([prompt] + tags).joined(separator: " ")
    }

    static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    private func txt2img(_ body: JSONValue, seed: UInt64) async throws(BackendError) -> ([[UInt8]], UInt64) {
        let json = try await call(endpoint.request("/sdapi/v1/txt2img", method: .POST, json: body))
        guard let encoded = json["images"]?.arrayValue, !encoded.isEmpty else {
            throw BackendError(.failed, "The backend returned no images.")
        }
        let images = encoded.compactMap { $0.stringValue.flatMap { Data(base64Encoded: Self.stripDataURL($0)) } }
            .map { [UInt8]($0) }
        // `info` is a JSON document inside a string; its seed is the one actually used.
        let info = json["info"]?.stringValue.flatMap { try? JSONValue.parse($0) }
        let usedSeed = info?["seed"]?.doubleValue.flatMap { $0 >= 0 ? UInt64(exactly: $0) : nil } ?? seed
        return (images, usedSeed)
    }

    private static func stripDataURL(_ string: String) -> String {
        guard string.hasPrefix("data:"), let comma = string.firstIndex(of: ",") else { return string }
        return String(string[string.index(after: comma)...])
    }

    private func names(at path: String) async throws(BackendError) -> [String] {
        let json = try await call(endpoint.request(path, method: .GET))
        return (json.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
    }

    private func call(_ request: HTTPClientRequest) async throws(BackendError) -> JSONValue {
        try await ImageUpstreamCall.json(client, request, timeout: endpoint.requestTimeout)
    }
}
