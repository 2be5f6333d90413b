import LLMEngine

/// A Stable Diffusion checkpoint ready to draw: text encoder, UNet and VAE decoder from one
/// AUTOMATIC1111-style `.safetensors` file, the CLIP tokenizer from the vocabulary file.
public struct StableDiffusionModel: Sendable {
    public let tokenizer: CLIPTokenizer
    public internal(set) var textEncoder: CLIPTextEncoder
    /// SDXL's second text encoder (OpenCLIP ViT-bigG), whose rows follow the first's in each
    /// context row and which gives the pooled text vector.
    public internal(set) var textEncoder2: CLIPTextEncoder?
    public internal(set) var unet: UNetModel
    public let decoder: VAEDecoder
    /// TAESD, when its weights were given: decodes in a fraction of the VAE's time, a little less
    /// sharply.
    public internal(set) var fastDecoder: TinyDecoder?
    public let schedule = NoiseSchedule()
    public let family: Family
    /// SD 2.x text towers saved by diffusers end at the layer SD 2.x reads (OpenCLIP's penultimate),
    /// so nothing is skipped there.
    let textEndsAtPenultimate: Bool
    /// What the UNet predicts: the noise (SD 1.x, SD 2.x base) or v (SD 2.x 768-v models).
    public let prediction: Prediction

    public enum Family: String, Sendable {
        /// OpenAI's CLIP ViT-L text encoder; eight attention heads.
        case sd1 = "SD 1.x"
        /// OpenCLIP ViT-H, read at its penultimate layer, prompts padded with "!"; 64-wide heads.
        case sd2 = "SD 2.x"
        /// CLIP ViT-L and OpenCLIP ViT-bigG side by side, both read at their penultimate layer
        /// before the final norm, plus the pooled text and the image size as extra conditioning.
        case sdxl = "SDXL"
    }

    /// The TAESD decoder file that matches a family's latents (madebyollin's names): SDXL's latent
    /// space is its own.
    public static func fastDecoderFile(for family: Family) -> String {
        family == .sdxl ? "taesdxl_decoder.safetensors" : "taesd_decoder.safetensors"
    }

    /// The model with a TAESD decoder from `path` (nil: none).
    public func withFastDecoder(_ path: String?, precision: Precision) throws(DiffusionError) -> StableDiffusionModel {
        var copy = self
        copy.fastDecoder = try Self.fastDecoder(path, precision: precision)
        return copy
    }

    private static func fastDecoder(_ path: String?, precision: Precision) throws(DiffusionError) -> TinyDecoder? {
        try path.map { path throws(DiffusionError) in try TinyDecoder(SafeTensorsFile(path: path), precision: precision) }
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
        if weights.has("conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight") {
            family = .sdxl
            textEncoder = try CLIPTextEncoder(weights.scoped("conditioner.embedders.0.transformer.text_model"))
            // OpenCLIP's layout in single files, transformers' in diffusers folders.
            let second = weights.has("conditioner.embedders.1.model.token_embedding.weight")
                ? try CLIPTextEncoder(openCLIP: weights.scoped("conditioner.embedders.1.model"), namedAs: "conditioner.embedders.1.transformer.text_model.")
                : try CLIPTextEncoder(weights.scoped("conditioner.embedders.1.transformer.text_model"), activation: .gelu,
                                      projection: weights.has("conditioner.embedders.1.transformer.text_projection.weight")
                                          ? try weights.tensor("conditioner.embedders.1.transformer.text_projection.weight").transposed() : nil)
            guard second.projection != nil else { throw .missingTensor("conditioner.embedders.1.model.text_projection") }
            textEncoder2 = second
            unet = try UNetModel(fast.scoped("model.diffusion_model"), headWidth: headWidth ?? 64, headCount: headCount)
        } else if weights.has("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight") {
            let truncatedOpenCLIP = metadata["visioncraft.text_encoder"] == "openclip-penultimate"
            family = truncatedOpenCLIP ? .sd2 : .sd1
            textEncoder = try CLIPTextEncoder(
                weights.scoped("cond_stage_model.transformer.text_model"), activation: truncatedOpenCLIP ? .gelu : .quickGELU)
            unet = try UNetModel(fast.scoped("model.diffusion_model"), headWidth: headWidth ?? (truncatedOpenCLIP ? 64 : nil),
                                 headCount: headCount)
        } else if weights.has("cond_stage_model.model.token_embedding.weight") {
            family = .sd2
            textEncoder = try CLIPTextEncoder(
                openCLIP: weights.scoped("cond_stage_model.model"), namedAs: "cond_stage_model.transformer.text_model.")
            unet = try UNetModel(fast.scoped("model.diffusion_model"), headWidth: headWidth ?? 64, headCount: headCount)
        } else {
            throw .unsupported("\(path): no SD 1.x, 2.x or SDXL text encoder found (cond_stage_model.transformer, cond_stage_model.model or conditioner.embedders)")
        }
        // SDXL's VAE was trained to a different latent scale.
        decoder = try VAEDecoder(fast.scoped("first_stage_model"), scalingFactor: family == .sdxl ? 0.13025 : 0.18215)
        fastDecoder = try Self.fastDecoder(fastPath, precision: precision)
        textEndsAtPenultimate = metadata["visioncraft.text_encoder"] == "openclip-penultimate"
        let textWidth = textEncoder.width + (textEncoder2?.width ?? 0)
        guard unet.contextWidth == textWidth else {
            throw .unsupported("\(path): the UNet reads \(unet.contextWidth)-wide text but the text encoder gives \(textWidth)")
        }
        if family == .sdxl {
            let pooled = textEncoder2?.projection?.shape[1] ?? 0
            guard let labels = unet.labelWidth, labels > pooled, (labels - pooled) % 6 == 0 else {
                throw .unsupported("\(path): an SDXL UNet needs label_emb for the \(pooled)-value pooled text and six image sizes")
            }
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
