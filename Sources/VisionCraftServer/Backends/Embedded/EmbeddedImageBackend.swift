import DiffusionEngine
import Logging
import MediaCodecs

/// Images drawn in-process by the diffusion engine, on its own threads, answered as PNGs that
/// carry their generation parameters the way AUTOMATIC1111 writes them.
public struct EmbeddedImageBackend: ImageBackend {
    public let id: String
    let name: String
    let worker: ImageWorker
    /// LoRA name → file, from `models/loras`.
    let loras: [String: String]
    let logger: Logger

    init(name: String, worker: ImageWorker, loras: [String: String], logger: Logger) {
        self.name = name
        self.worker = worker
        self.loras = loras
        self.logger = logger
        id = "embedded-image:\(name)"
    }

    /// Defaults that suit the checkpoint's family: 512² for SD 1.x and SD 2.x base, 768² for SD 2.x
    /// v-models, 1024² for SDXL.
    var suggestedDefaults: ImageDefaults {
        switch worker.model.family {
        case .sd1: .stableDiffusion1
        case .sd2: worker.model.prediction == .velocity ? .stableDiffusion2V : .stableDiffusion1
        case .sdxl: .stableDiffusionXL
        }
    }

    public func capabilities() async throws(BackendError) -> ImageCapabilities {
        ImageCapabilities(samplers: ImageSampler.allCases.map(\.rawValue), loras: loras.keys.sorted())
    }

    public func generateImage(_ request: ImageGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        guard let sampler = ImageSampler(rawValue: request.sampler ?? ImageSampler.eulerAncestral.rawValue) else {
            throw BackendError(.rejected, "This model has no sampler named '\(request.sampler ?? "")'.")
        }
        var uses: [LoRAUse] = []
        for lora in request.loras {
            guard let path = loras[lora.name] else { throw BackendError(.rejected, "There is no LoRA named '\(lora.name)'.") }
            do {
                uses.append(LoRAUse(try LoRAFile(path: path), weight: Float(lora.weight)))
            } catch {
                throw BackendError(.failed, "The LoRA '\(lora.name)' cannot be read.", detail: "\(error)")
            }
        }
        let scale = worker.model.latentScale
        guard request.width % scale == 0, request.height % scale == 0 else {
            throw BackendError(.rejected, "Width and height must be multiples of \(scale) for this model.")
        }
        let drawing = ImageRequest(
            prompt: request.prompt, negativePrompt: request.negativePrompt, width: request.width,
            height: request.height, steps: request.steps, guidance: Float(request.cfgScale), sampler: sampler, seed: seed,
            clipSkip: request.clipSkip, fastDecode: worker.model.fastDecoder != nil, loras: uses)
        let started = ContinuousClock.now
        let logger = logger, name = name
        let image: RGBImage
        do {
            image = try await worker.draw(drawing) { progress in
                if case .started(let waited) = progress {
                    logger.info("Drawing image", metadata: [
                        "model": "\(name)", "size": "\(drawing.width)x\(drawing.height)", "steps": "\(drawing.steps)",
                        "sampler": "\(sampler.rawValue)", "queued_for": "\(waited)",
                    ])
                }
            }
        } catch {
            throw Self.backendError(error)
        }
        let elapsed = ContinuousClock.now - started
        logger.info("Drew image", metadata: [
            "model": "\(name)", "seconds": "\(elapsed)",
            "seconds_per_step": "\(elapsed / max(1, drawing.steps))",
        ])
        let parameters = Self.parametersText(request, sampler: sampler, seed: seed, model: name)
        let png = PNGEncoder.encode(width: image.width, height: image.height, rgb: image.pixels,
                                    text: [("parameters", parameters)])
        return GeneratedMedia(bytes: png, seed: seed)
    }

    public func generateGIF(_ request: GIFGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        throw BackendError(.rejected, "This is an image model; GIFs come from the GIF models (GET /text2gif/models).")
    }

    /// What the engine's failures mean to a client.
    static func backendError(_ error: any Error) -> BackendError {
        switch error {
        case DiffusionError.queueFull:
            BackendError(.busy, "The image engine is busy with as many jobs as it queues; try again shortly.")
        case DiffusionError.cancelled:
            BackendError(.cancelled, "The image was cancelled.")
        case DiffusionError.invalidRequest(let reason), DiffusionError.unsupported(let reason):
            BackendError(.rejected, "This request cannot be drawn by this model: \(reason).")
        default:
            BackendError(.failed, "The image engine failed.", detail: "\(error)")
        }
    }

    /// AUTOMATIC1111's "parameters" text, which its PNG Info tab and other tools read back.
    static func parametersText(_ request: ImageGenerationRequest, sampler: ImageSampler, seed: UInt64, model: String) -> String {
        let tags = request.loras.map { " <lora:\($0.name):\(Self.weightText($0.weight))>" }.joined()
        var lines = [request.prompt + tags]
        if !request.negativePrompt.isEmpty { lines.append("Negative prompt: \(request.negativePrompt)") }
        lines.append("Steps: \(request.steps), Sampler: \(sampler.rawValue), CFG scale: \(request.cfgScale), "
            + "Seed: \(seed), Size: \(request.width)x\(request.height), Model: \(model)"
            + (request.clipSkip > 1 ? ", Clip skip: \(request.clipSkip)" : ""))
        return lines.joined(separator: "\n")
    }

    static func weightText(_ weight: Double) -> String {
        weight == weight.rounded() ? String(Int(weight)) : String(weight)
    }
}
