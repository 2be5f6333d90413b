import AsyncHTTPClient
import Foundation
import NIOCore

/// Images from a ComfyUI server: the request becomes its standard text-to-image workflow
/// (checkpoint, LoRA loaders, two text encodings, an empty latent, KSampler, VAE decode, save),
/// queued through `POST /prompt`; `GET /history/{id}` is asked until the job is done, then the
/// image comes from `GET /view`. AUTOMATIC1111's sampler names map to ComfyUI's sampler and
/// scheduler pairs (`Euler a` is `euler_ancestral` on `normal`, `DPM++ 2M Karras` is `dpmpp_2m` on
/// `karras`).
public struct ComfyUIImageBackend: ImageBackend {
    public let id: String
    let endpoint: UpstreamEndpoint
    /// The checkpoint file name ComfyUI loads (`ckpt_name`).
    let checkpoint: String
    let client: HTTPClient
    /// How often a queued job is asked about.
    let pollInterval: Duration

    public init(endpoint: UpstreamEndpoint, checkpoint: String, client: HTTPClient, pollInterval: Duration = .milliseconds(250)) {
        self.endpoint = endpoint
        self.checkpoint = checkpoint
        self.client = client
        self.pollInterval = pollInterval
        id = "comfyui:\(endpoint.displayHost)/\(checkpoint)"
    }

    /// AUTOMATIC1111 name → ComfyUI sampler and scheduler.
    static let samplerMap: [(a1111: String, sampler: String, scheduler: String)] = [
        ("Euler", "euler", "normal"), ("Euler a", "euler_ancestral", "normal"), ("Euler Karras", "euler", "karras"),
        ("Heun", "heun", "normal"), ("LMS", "lms", "normal"), ("LMS Karras", "lms", "karras"),
        ("DPM2", "dpm_2", "normal"), ("DPM2 Karras", "dpm_2", "karras"), ("DPM2 a", "dpm_2_ancestral", "normal"),
        ("DPM2 a Karras", "dpm_2_ancestral", "karras"), ("DPM++ 2S a", "dpmpp_2s_ancestral", "normal"),
        ("DPM++ 2S a Karras", "dpmpp_2s_ancestral", "karras"), ("DPM++ 2M", "dpmpp_2m", "normal"),
        ("DPM++ 2M Karras", "dpmpp_2m", "karras"), ("DPM++ SDE", "dpmpp_sde", "normal"),
        ("DPM++ SDE Karras", "dpmpp_sde", "karras"), ("DDIM", "ddim", "ddim_uniform"), ("LCM", "lcm", "normal"),
    ]

    public func capabilities() async throws(BackendError) -> ImageCapabilities {
        let sampling = try await call(endpoint.request("/object_info/KSampler", method: .GET))
        let samplers = Set(Self.choices(sampling, node: "KSampler", input: "sampler_name"))
        let schedulers = Set(Self.choices(sampling, node: "KSampler", input: "scheduler"))
        let names = Self.samplerMap.filter { samplers.contains($0.sampler) && schedulers.contains($0.scheduler) }.map(\.a1111)
        return ImageCapabilities(samplers: names, loras: try await loraFiles().map(Self.loraName))
    }

    /// The values a node's input may take, as `/object_info` lists them (`[[choices…], {…}]`).
    static func choices(_ info: JSONValue, node: String, input: String) -> [String] {
        (info[node]?["input"]?["required"]?[input]?.arrayValue?.first?.arrayValue ?? []).compactMap(\.stringValue)
    }

    private func loraFiles() async throws(BackendError) -> [String] {
        Self.choices(try await call(endpoint.request("/object_info/LoraLoader", method: .GET)), node: "LoraLoader", input: "lora_name")
    }

    /// A LoRA file as clients name it: without its folder and extension.
    static func loraName(_ file: String) -> String {
        let base = file.split(separator: "/").last.map(String.init) ?? file
        guard let dot = base.lastIndex(of: ".") else { return base }
        return String(base[..<dot])
    }

    public func generateImage(_ request: ImageGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        let pair = Self.samplerMap.first { $0.a1111 == (request.sampler ?? "Euler a") }
        guard let pair else { throw BackendError(.rejected, "ComfyUI has no sampler named '\(request.sampler ?? "")'.") }
        // LoRA file names as ComfyUI lists them.
        var chosenLoRAs: [(file: String, weight: Double)] = []
        if !request.loras.isEmpty {
            let files = try await loraFiles()
            for lora in request.loras {
                guard let file = files.first(where: { Self.loraName($0) == lora.name }) else {
                    throw BackendError(.rejected, "ComfyUI has no LoRA named '\(lora.name)'.")
                }
                chosenLoRAs.append((file, lora.weight))
            }
        }
        let workflow = Self.workflow(
            request, checkpoint: checkpoint, sampler: pair.sampler, scheduler: pair.scheduler, seed: seed, loras: chosenLoRAs)
        let queued = try await call(endpoint.request(
            "/prompt", method: .POST, json: ["prompt": workflow, "client_id": .string("visioncraft-\(UUID().uuidString)")]))
        guard let promptID = queued["prompt_id"]?.stringValue else {
            throw BackendError(.failed, "ComfyUI did not queue the workflow.", detail: "\(queued)")
        }
        let image = try await waitForImage(promptID)
        var view = URLComponents()
        view.queryItems = [URLQueryItem(name: "filename", value: image.filename),
                           URLQueryItem(name: "subfolder", value: image.subfolder), URLQueryItem(name: "type", value: image.type)]
        let bytes = try await ImageUpstreamCall.bytes(
            client, endpoint.request("/view?" + (view.percentEncodedQuery ?? ""), method: .GET), timeout: endpoint.requestTimeout)
        let png = Array(bytes.readableBytesView)
        guard png.starts(with: A1111ImageBackend.pngSignature) else { throw BackendError(.failed, "ComfyUI's image is not a PNG.") }
        return GeneratedMedia(bytes: png, seed: seed)
    }

    public func generateGIF(_ request: GIFGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        throw BackendError(.rejected, "GIFs through ComfyUI are not supported; use an AUTOMATIC1111 AnimateDiff backend.")
    }

    /// ComfyUI's API-format graph for one text-to-image job: node id → class and inputs, an input
    /// that is another node's output written `[node, output index]`.
    static func workflow(
        _ request: ImageGenerationRequest, checkpoint: String, sampler: String, scheduler: String, seed: UInt64,
        loras: [(file: String, weight: Double)]
    ) -> JSONValue {
        var nodes: [String: JSONValue] = [
            "checkpoint": ["class_type": "CheckpointLoaderSimple", "inputs": ["ckpt_name": .string(checkpoint)]],
        ]
        var model: JSONValue = ["checkpoint", 0], clip: JSONValue = ["checkpoint", 1]
        for (index, lora) in loras.enumerated() {
            let id = "lora\(index)"
            nodes[id] = ["class_type": "LoraLoader", "inputs": [
                "model": model, "clip": clip, "lora_name": .string(lora.file),
                "strength_model": .number(lora.weight), "strength_clip": .number(lora.weight),
            ]]
            model = [.string(id), 0]
            clip = [.string(id), 1]
        }
        if request.clipSkip > 1 {
            nodes["clipskip"] = ["class_type": "CLIPSetLastLayer", "inputs": [
                "clip": clip, "stop_at_clip_layer": .integer(Int64(-request.clipSkip)),
            ]]
            clip = ["clipskip", 0]
        }
        nodes["positive"] = ["class_type": "CLIPTextEncode", "inputs": ["text": .string(request.prompt), "clip": clip]]
        nodes["negative"] = ["class_type": "CLIPTextEncode", "inputs": ["text": .string(request.negativePrompt), "clip": clip]]
        nodes["latent"] = ["class_type": "EmptyLatentImage", "inputs": [
            "width": .integer(Int64(request.width)), "height": .integer(Int64(request.height)), "batch_size": 1,
        ]]
        nodes["sampler"] = ["class_type": "KSampler", "inputs": [
            "model": model, "positive": ["positive", 0], "negative": ["negative", 0], "latent_image": ["latent", 0],
            "seed": .integer(Int64(truncatingIfNeeded: seed)), "steps": .integer(Int64(request.steps)),
            "cfg": .integer(Int64(request.cfgScale)), "sampler_name": .string(sampler), "scheduler": .string(scheduler),
            "denoise": 1,
        ]]
        nodes["decode"] = ["class_type": "VAEDecode", "inputs": ["samples": ["sampler", 0], "vae": ["checkpoint", 2]]]
        nodes["save"] = ["class_type": "SaveImage", "inputs": ["images": ["decode", 0], "filename_prefix": "visioncraft"]]
        return .object(nodes)
    }

    private struct OutputImage {
        var filename: String
        var subfolder: String
        var type: String
    }

    /// Asks `/history/{id}` until the job has finished: its saved image, or the error it ended with.
    private func waitForImage(_ promptID: String) async throws(BackendError) -> OutputImage {
        let deadline = ContinuousClock.now + .nanoseconds(endpoint.requestTimeout.nanoseconds)
        while ContinuousClock.now < deadline {
            let history = try await call(endpoint.request("/history/\(promptID)", method: .GET))
            if let job = history[promptID] {
                if job["status"]?["status_str"]?.stringValue == "error" {
                    throw BackendError(.failed, "ComfyUI failed to run the workflow.", detail: "\(job["status"] ?? .null)")
                }
                let images = job["outputs"]?["save"]?["images"]?.arrayValue ?? []
                guard let first = images.first, let filename = first["filename"]?.stringValue else {
                    throw BackendError(.failed, "ComfyUI finished without an image.")
                }
                return OutputImage(filename: filename, subfolder: first["subfolder"]?.stringValue ?? "",
                                   type: first["type"]?.stringValue ?? "output")
            }
            do {
                try await Task.sleep(for: pollInterval)
            } catch {
                throw BackendError(.cancelled, "The image was cancelled.")
            }
        }
        throw BackendError(.timedOut, "ComfyUI did not finish the image in time.")
    }

    private func call(_ request: HTTPClientRequest) async throws(BackendError) -> JSONValue {
        try await ImageUpstreamCall.json(client, request, timeout: endpoint.requestTimeout)
    }
}
