/// A validated `/text2gif` request. The seed's contract names only `prompt`; the rest are extras
/// with defaults that suit AnimateDiff on a Stable Diffusion 1.5 checkpoint.
public struct GIFGenerationRequest: Sendable, Equatable {
    public var model: String?
    public var prompt: String
    public var negativePrompt: String
    public var frames: Int
    public var fps: Int
    public var width: Int
    public var height: Int
    public var steps: Int
    public var seed: UInt64?

    public static let framesRange = 2...64
    public static let fpsRange = 1...30
    public static let sizeRange = 64...1024
    public static let stepsRange = 1...35

    public init(
        model: String? = nil, prompt: String, negativePrompt: String = "", frames: Int = 16, fps: Int = 8,
        width: Int = 512, height: Int = 512, steps: Int = 20, seed: UInt64? = nil
    ) {
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

    public init(json body: JSONValue) throws(APIError) {
        let reader = try ParameterReader(body: body)
        model = try reader.string("model")
        prompt = try reader.requiredString("prompt")
        negativePrompt = try reader.string("negative_prompt") ?? ""
        frames = try reader.int("frames", in: Self.framesRange, default: 16)
        fps = try reader.int("fps", in: Self.fpsRange, default: 8)
        width = try reader.int("width", in: Self.sizeRange, default: 512)
        height = try reader.int("height", in: Self.sizeRange, default: 512)
        steps = try reader.int("steps", in: Self.stepsRange, default: 20)
        seed = try reader.seed()
    }
}
