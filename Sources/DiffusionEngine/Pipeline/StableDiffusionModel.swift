import LLMEngine

/// A Stable Diffusion checkpoint ready to draw: text encoder, UNet and VAE decoder from one
/// AUTOMATIC1111-style `.safetensors` file, the CLIP tokenizer from the vocabulary file.
public struct StableDiffusionModel: Sendable {
    public let tokenizer: CLIPTokenizer
    public internal(set) var textEncoder: CLIPTextEncoder
    public internal(set) var unet: UNetModel
    public let decoder: VAEDecoder
    /// TAESD, when its weights were given: decodes in a fraction of the VAE's time, a little less
    /// sharply.
    public let fastDecoder: TinyDecoder?
    public let schedule = NoiseSchedule()
    public let family: Family
    /// What the UNet predicts: the noise (SD 1.x, SD 2.x base) or v (SD 2.x 768-v models).
    public let prediction: Prediction

    public enum Family: String, Sendable {
        /// OpenAI's CLIP ViT-L text encoder; eight attention heads.
        case sd1 = "SD 1.x"
        /// OpenCLIP ViT-H, read at its penultimate layer, prompts padded with "!"; 64-wide heads.
        case sd2 = "SD 2.x"
    }

    public enum Prediction: String, Sendable {
        case epsilon
        case velocity = "v"
    }

    /// `fastDecoder`: a TAESD decoder file (`taesd_decoder.safetensors`) to decode with when a
    /// request asks for speed.
    /// `prediction`: what the UNet predicts, when the operator says; otherwise the file's metadata
    /// (`visioncraft.prediction`), otherwise noise for SD 1.x and, for SD 2.x, AUTOMATIC1111's test:
    /// a v-model's output at t = 999 on a flat latent lies well below it.
    /// `precision`: what the UNet and the VAE multiply in (the text encoder, a small part of the
    /// work, always in float).
    public init(
        checkpoint path: String, vocabulary: String, fastDecoder fastPath: String? = nil, prediction: Prediction? = nil,
        precision: Precision = .float32
    ) throws(DiffusionError) {
        try self.init(checkpoint: path, tokenizer: CLIPTokenizer(mergesFile: vocabulary), fastDecoder: fastPath,
                      prediction: prediction, precision: precision)
    }

    /// With a tokenizer already built (one serves every checkpoint).
    public init(
        checkpoint path: String, tokenizer: CLIPTokenizer, fastDecoder fastPath: String? = nil, prediction: Prediction? = nil,
        precision: Precision = .float32
    ) throws(DiffusionError) {
        if path.hasSuffix(".ckpt") || path.hasSuffix(".pt") || path.hasSuffix(".pth") {
            throw .unsupported("\(path) is a pickled checkpoint, which is never unpickled here (it can run code); convert it to .safetensors first")
        }
        let source: any TensorSource
        let metadata: [String: String]
        if DiffusersFolder.isFolder(path) {
            let folder = try DiffusersFolder(path: path)
            (source, metadata) = (folder, folder.metadata)
        } else if path.hasSuffix(".gguf") {
            let file = try GGUFTensorSource(path: path)
            (source, metadata) = (file, file.metadata)
        } else {
            let file = try SafeTensorsFile(path: path)
            (source, metadata) = (file, file.metadata)
        }
        let weights = Weights(source), fast = Weights(source, precision: precision)
        self.tokenizer = tokenizer
        // Test fixtures narrower than any real model say how their attention is split.
        let headWidth = metadata["visioncraft.attention_head_width"].flatMap { Int($0) }
        let headCount = metadata["visioncraft.attention_heads"].flatMap { Int($0) }
        if weights.has("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight") {
            family = .sd1
            textEncoder = try CLIPTextEncoder(weights.scoped("cond_stage_model.transformer.text_model"))
            unet = try UNetModel(fast.scoped("model.diffusion_model"), headWidth: headWidth, headCount: headCount)
        } else if weights.has("cond_stage_model.model.token_embedding.weight") {
            family = .sd2
            textEncoder = try CLIPTextEncoder(
                openCLIP: weights.scoped("cond_stage_model.model"), namedAs: "cond_stage_model.transformer.text_model.")
            unet = try UNetModel(fast.scoped("model.diffusion_model"), headWidth: headWidth ?? 64, headCount: headCount)
        } else {
            throw .unsupported("\(path): no SD 1.x or 2.x text encoder found (cond_stage_model.transformer or cond_stage_model.model)")
        }
        decoder = try VAEDecoder(fast.scoped("first_stage_model"))
        fastDecoder = try fastPath.map { path throws(DiffusionError) in try TinyDecoder(SafeTensorsFile(path: path), precision: precision) }
        guard unet.contextWidth == textEncoder.width else {
            throw .unsupported("\(path): the UNet reads \(unet.contextWidth)-wide text but the text encoder gives \(textEncoder.width)")
        }
        if let chosen = prediction ?? metadata["visioncraft.prediction"].flatMap(Prediction.init(rawValue:)) {
            self.prediction = chosen
        } else if family == .sd2 {
            self.prediction = Self.looksLikeVelocity(unet, contextWidth: textEncoder.width) ? .velocity : .epsilon
        } else {
            self.prediction = .epsilon
        }
    }

    /// How many pixels a latent value covers per side (8 for every SD model).
    public var latentScale: Int { decoder.upscale }

    /// AUTOMATIC1111's test for SD 2.x v-models: on a flat latent of 0.5 at t = 999, with a flat
    /// text of 0.5, a v-model's output minus its input averages below −1.
    static func looksLikeVelocity(_ unet: UNetModel, contextWidth: Int) -> Bool {
        let latent = FeatureMap(channels: unet.inChannels, height: 8, width: 8,
                                values: [Float](repeating: 0.5, count: unet.inChannels * 64))
        guard let output = try? unet.predictNoise(
            latent, timestep: 999, context: [Float](repeating: 0.5, count: 2 * contextWidth), pool: ComputePool(threadCount: 1))
        else { return false }
        let mean = zip(output.values, latent.values).reduce(0.0) { $0 + Double($1.0 - $1.1) } / Double(latent.values.count)
        return mean < -1
    }
}
