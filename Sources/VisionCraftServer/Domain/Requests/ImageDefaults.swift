/// What an image request gets for the fields it leaves out. The contract's defaults (1024², 35
/// steps) suit large models on GPU servers; a model may declare its own — an embedded SD 1.x model
/// draws 512² in 20 steps, a Turbo or LCM model 1–4 steps at cfg 1 — and `/sd/models/{name}` shows
/// them to clients.
public struct ImageDefaults: Codable, Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var steps: Int
    public var cfgScale: Int
    /// `nil`: whatever the backend defaults to.
    public var sampler: String?
    /// AUTOMATIC1111's "clip skip" for this model (2 for most anime-style SD 1.x fine-tunes): a
    /// setting of the model, not of a request. `nil` is 1, the text encoder's last layer.
    public var clipSkip: Int?
    /// A GIF model's frames and frame rate (`nil`: 16 frames at 8 fps).
    public var frames: Int?
    public var fps: Int?

    public init(
        width: Int, height: Int, steps: Int, cfgScale: Int, sampler: String? = nil, clipSkip: Int? = nil, frames: Int? = nil,
        fps: Int? = nil
    ) {
        self.width = width
        self.height = height
        self.steps = steps
        self.cfgScale = cfgScale
        self.sampler = sampler
        self.clipSkip = clipSkip
        self.frames = frames
        self.fps = fps
    }

    public static let contract = ImageDefaults(width: 1024, height: 1024, steps: 35, cfgScale: 7)
    public static let stableDiffusion1 = ImageDefaults(width: 512, height: 512, steps: 20, cfgScale: 7, sampler: "Euler a")
    /// SD 2.x's 768-v models were trained at 768².
    public static let stableDiffusion2V = ImageDefaults(width: 768, height: 768, steps: 20, cfgScale: 7, sampler: "Euler a")
    /// SDXL was trained at 1024² (SDXL-Turbo, the same architecture, draws 512² in 1–4 steps at
    /// cfg 1: an operator says so in the model's configured defaults).
    public static let stableDiffusionXL = ImageDefaults(width: 1024, height: 1024, steps: 20, cfgScale: 7, sampler: "Euler a")

    /// AnimateDiff's modules were trained on 16-frame clips at 256² (AnimateLCM and Lightning want
    /// 4 steps at cfg 1: an operator says so in the GIF model's configured defaults).
    public static let animateDiff = ImageDefaults(width: 256, height: 256, steps: 20, cfgScale: 7, sampler: "Euler a",
                                                  frames: 16, fps: 8)

    /// An AUTOMATIC1111 AnimateDiff upstream's: 512², as such servers usually run on a GPU.
    public static let upstreamAnimateDiff = ImageDefaults(width: 512, height: 512, steps: 20, cfgScale: 7, frames: 16, fps: 8)

    /// Checks that configured defaults lie in the contract's ranges.
    func validated(model: String) throws -> ImageDefaults {
        guard ImageGenerationRequest.sizeRange.contains(width), ImageGenerationRequest.sizeRange.contains(height),
            ImageGenerationRequest.stepsRange.contains(steps), ImageGenerationRequest.cfgScaleRange.contains(cfgScale),
            (1...12).contains(clipSkip ?? 1), GIFGenerationRequest.framesRange.contains(frames ?? 16),
            GIFGenerationRequest.fpsRange.contains(fps ?? 8)
        else {
            throw ConfigurationError("Image model '\(model)': defaults outside the API's ranges (width and height 64–1024, steps 1–35, cfg_scale 1–30, clip_skip 1–12, frames \(GIFGenerationRequest.framesRange), fps \(GIFGenerationRequest.fpsRange)).")
        }
        return self
    }

    var json: JSONValue {
        var object: [String: JSONValue] = [
            "width": .integer(Int64(width)), "height": .integer(Int64(height)), "steps": .integer(Int64(steps)),
            "cfg_scale": .integer(Int64(cfgScale)),
        ]
        if let sampler { object["sampler"] = .string(sampler) }
        object["clip_skip"] = .integer(Int64(clipSkip ?? 1))
        if let frames { object["frames"] = .integer(Int64(frames)) }
        if let fps { object["fps"] = .integer(Int64(fps)) }
        return .object(object)
    }
}
