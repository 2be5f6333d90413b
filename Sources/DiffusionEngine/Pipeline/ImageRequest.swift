/// What to draw.
public struct ImageRequest: Sendable {
    public var prompt: String
    public var negativePrompt: String
    public var width: Int
    public var height: Int
    public var steps: Int
    public var guidance: Float
    public var sampler: ImageSampler
    public var seed: UInt64
    /// AUTOMATIC1111's "clip skip": 1 uses the text encoder's last layer, 2 the one before.
    public var clipSkip: Int
    /// Decode with TAESD when the model has it.
    public var fastDecode: Bool
    /// LoRAs applied for this image only, each at its weight.
    public var loras: [LoRAUse]

    public init(
        prompt: String, negativePrompt: String = "", width: Int = 512, height: Int = 512, steps: Int = 20,
        guidance: Float = 7, sampler: ImageSampler = .euler, seed: UInt64 = 0, clipSkip: Int = 1, fastDecode: Bool = false,
        loras: [LoRAUse] = []
    ) {
        self.fastDecode = fastDecode
        self.loras = loras
        self.prompt = prompt
        self.negativePrompt = negativePrompt
        self.width = width
        self.height = height
        self.steps = steps
        self.guidance = guidance
        self.sampler = sampler
        self.seed = seed
        self.clipSkip = clipSkip
    }
}

/// 8-bit RGB pixels, row by row.
public struct RGBImage: Sendable, Equatable {
    public let width: Int
    public let height: Int
    public let pixels: [UInt8]

    /// From the decoder's [-1, 1] planes, as diffusers converts them: (x/2 + 0.5) clamped, ×255,
    /// rounded.
    public init(planes: FeatureMap) {
        precondition(planes.channels == 3, "an RGB image needs three planes")
        width = planes.width
        height = planes.height
        let count = planes.pixels
        pixels = [UInt8](unsafeUninitializedCapacity: 3 * count) { out, initialized in
            for p in 0..<count {
                for c in 0..<3 {
                    let unit = min(max(planes.values[c * count + p] / 2 + 0.5, 0), 1)
                    out[3 * p + c] = UInt8((unit * 255).rounded(.toNearestOrEven))
                }
            }
            initialized = 3 * count
        }
    }
}

/// A LoRA and the weight to apply it at.
public struct LoRAUse: Sendable {
    public var file: LoRAFile
    public var weight: Float

    public init(_ file: LoRAFile, weight: Float) {
        self.file = file
        self.weight = weight
    }
}
