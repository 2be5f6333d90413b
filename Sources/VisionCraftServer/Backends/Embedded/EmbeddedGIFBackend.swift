import DiffusionEngine
import Logging
import MediaCodecs

/// GIFs animated in-process with AnimateDiff: a motion module on an embedded SD 1.x checkpoint,
/// drawn by that checkpoint's own worker (one queue and one copy of the weights for its images and
/// animations), written by the project's GIF encoder.
public struct EmbeddedGIFBackend: ImageBackend {
    public let id: String
    let name: String
    let worker: ImageWorker
    let motion: MotionModule
    let logger: Logger

    init(name: String, worker: ImageWorker, motion: MotionModule, logger: Logger) {
        self.name = name
        self.worker = worker
        self.motion = motion
        self.logger = logger
        id = "embedded-gif:\(name)"
    }

    public func capabilities() async throws(BackendError) -> ImageCapabilities {
        ImageCapabilities(samplers: ImageSampler.allCases.map(\.rawValue), loras: [])
    }

    public func generateImage(_ request: ImageGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        throw BackendError(.rejected, "This is a GIF model; images come from the image models (GET /sd/models).")
    }

    public func generateGIF(_ request: GIFGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia {
        guard let sampler = ImageSampler(rawValue: request.sampler ?? ImageSampler.eulerAncestral.rawValue) else {
            throw BackendError(.rejected, "This model has no sampler named '\(request.sampler ?? "")'.")
        }
        let scale = worker.model.latentScale
        guard request.width % scale == 0, request.height % scale == 0 else {
            throw BackendError(.rejected, "Width and height must be multiples of \(scale) for this model.")
        }
        let drawing = ImageRequest(
            prompt: request.prompt, negativePrompt: request.negativePrompt, width: request.width, height: request.height,
            steps: request.steps, guidance: Float(request.cfgScale), sampler: sampler, seed: seed,
            fastDecode: worker.model.fastDecoder != nil)
        let started = ContinuousClock.now
        let logger = logger, name = name
        let frames: [RGBImage]
        do {
            frames = try await worker.animate(drawing, frames: request.frames, motion: motion) { progress in
                if case .started(let waited) = progress {
                    logger.info("Animating", metadata: [
                        "model": "\(name)", "size": "\(drawing.width)x\(drawing.height)", "frames": "\(request.frames)",
                        "steps": "\(drawing.steps)", "sampler": "\(sampler.rawValue)", "queued_for": "\(waited)",
                    ])
                }
            }
        } catch {
            throw EmbeddedImageBackend.backendError(error)
        }
        logger.info("Animated", metadata: [
            "model": "\(name)", "seconds": "\(ContinuousClock.now - started)", "frames": "\(frames.count)",
        ])
        let gif = GIFEncoder.encode(width: request.width, height: request.height, frames: frames.map(\.pixels), fps: request.fps)
        return GeneratedMedia(bytes: gif, seed: seed)
    }
}
