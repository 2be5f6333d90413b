/// A validated `/sd` request with the contract's defaults applied.
public struct ImageGenerationRequest: Sendable, Equatable {
    public var model: String
    public var prompt: String
    public var negativePrompt: String
    public var sampler: String?
    public var steps: Int
    public var width: Int
    public var height: Int
    public var cfgScale: Int
    public var loras: [LoRAWeight]
    public var seed: UInt64?
    /// The model's clip skip (from its defaults; requests do not set it).
    public var clipSkip: Int = 1

    public static let stepsRange = 1...35
    public static let sizeRange = 64...1024
    public static let cfgScaleRange = 1...30
    public static let maxLoRAs = 5

    public init(
        model: String, prompt: String, negativePrompt: String = "", sampler: String? = nil, steps: Int = 35,
        width: Int = 1024, height: Int = 1024, cfgScale: Int = 7, loras: [LoRAWeight] = [], seed: UInt64? = nil
    ) {
        self.model = model
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.sampler = sampler
        self.steps = steps
        self.width = width
        self.height = height
        self.cfgScale = cfgScale
        self.loras = loras
        self.seed = seed
    }

    /// The model's name alone, read before the rest so that the model's defaults can apply.
    public static func modelName(in body: JSONValue) throws(APIError) -> String {
        try ParameterReader(body: body).requiredString("model")
    }

    /// Fields the request leaves out take the model's `defaults`; explicit ones are kept.
    public init(json body: JSONValue, defaults: ImageDefaults = .contract) throws(APIError) {
        let reader = try ParameterReader(body: body)
        model = try reader.requiredString("model")
        prompt = try reader.requiredString("prompt")
        negativePrompt = try reader.string("negative_prompt") ?? ""
        sampler = try reader.string("sampler") ?? defaults.sampler
        steps = try reader.int("steps", in: Self.stepsRange, default: defaults.steps)
        width = try reader.int("width", in: Self.sizeRange, default: defaults.width)
        height = try reader.int("height", in: Self.sizeRange, default: defaults.height)
        cfgScale = try reader.int("cfg_scale", in: Self.cfgScaleRange, default: defaults.cfgScale)
        clipSkip = defaults.clipSkip ?? 1
        loras = try LoRAWeight.parse(reader.value("loras"), limit: Self.maxLoRAs)
        seed = try reader.seed()
    }
}

/// A LoRA to apply and how strongly, as the client named it in `loras`.
public struct LoRAWeight: Sendable, Equatable {
    public var name: String
    public var weight: Double

    public init(name: String, weight: Double) {
        self.name = name
        self.weight = weight
    }

    static let weightRange = -10.0...10.0

    static func parse(_ value: JSONValue?, limit: Int) throws(APIError) -> [LoRAWeight] {
        guard let value else { return [] }
        guard let object = value.objectValue else {
            throw APIError.invalidParameter("loras", "'loras' must be an object mapping LoRA names to weights.")
        }
        guard object.count <= limit else {
            throw APIError.invalidParameter("loras", "'loras' may name at most \(limit) LoRAs, got \(object.count).")
        }
        var loras: [LoRAWeight] = []
        for name in object.keys.sorted() {
            guard let weight = object[name]?.doubleValue, weight.isFinite, weightRange.contains(weight) else {
                throw APIError.invalidParameter(
                    "loras", "The weight of LoRA '\(name)' must be a number between -10 and 10.")
            }
            loras.append(LoRAWeight(name: name, weight: weight))
        }
        return loras
    }
}
