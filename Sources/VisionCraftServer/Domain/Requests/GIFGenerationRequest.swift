/// A validated `/text2gif` request. The seed's contract names only `prompt`; the rest are extras:
/// what a request leaves out takes the GIF model's defaults (AnimateDiff's: 16 frames at 8 fps,
/// 256², 20 steps, cfg 7, unless configured otherwise).
public struct GIFGenerationRequest: Sendable, Equatable {
    public var model: String?
    public var prompt: String
    public var negativePrompt: String
    public var frames: Int
    public var fps: Int
    public var width: Int
    public var height: Int
    public var steps: Int
    public var cfgScale: Int
    /// nil: the model's default sampler.
    public var sampler: String?
    public var seed: UInt64?

    public static let framesRange = 2...64
    public static let fpsRange = 1...30
    public static let sizeRange = 64...1024
    public static let stepsRange = 1...35

    public init(
        model: String? = nil, prompt: String, negativePrompt: String = "", frames: Int = 16, fps: Int = 8,
        width: Int = 512, height: Int = 512, steps: Int = 20, cfgScale: Int = 7, sampler: String? = nil, seed: UInt64? = nil
    ) {
        self.cfgScale = cfgScale
        self.sampler = sampler
        self.model = model
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.frames = frames
        self.fps = fps
        self.width = width
        self.height = height
        self.steps = steps
        self.seed = seed
    }

    /// The model's name, when the request gives one, read before the rest so that its defaults apply.
    public static func modelName(in body: JSONValue) throws(APIError) -> String? {
        try ParameterReader(body: body).string("model")
    }

    /// Fields the request leaves out take the model's `defaults`; explicit ones are kept.
    public init(json body: JSONValue, defaults: ImageDefaults = .animateDiff) throws(APIError) {
        let reader = try ParameterReader(body: body)
        model = try reader.string("model")
        prompt = try reader.requiredString("prompt")
        negativePrompt = try reader.string("negative_prompt") ?? ""
        frames = try reader.int("frames", in: Self.framesRange, default: defaults.frames ?? 16)
        fps = try reader.int("fps", in: Self.fpsRange, default: defaults.fps ?? 8)
        width = try reader.int("width", in: Self.sizeRange, default: defaults.width)
        height = try reader.int("height", in: Self.sizeRange, default: defaults.height)
        steps = try reader.int("steps", in: Self.stepsRange, default: defaults.steps)
        cfgScale = try reader.int("cfg_scale", in: ImageGenerationRequest.cfgScaleRange, default: defaults.cfgScale)
        sampler = try reader.string("sampler") ?? defaults.sampler
        seed = try reader.seed()
    }
}
