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

    /// `fastDecoder`: a TAESD decoder file (`taesd_decoder.safetensors`) to decode with when a
    /// request asks for speed.
    public init(checkpoint path: String, vocabulary: String, fastDecoder fastPath: String? = nil) throws(DiffusionError) {
        if path.hasSuffix(".ckpt") || path.hasSuffix(".pt") || path.hasSuffix(".pth") {
            throw .unsupported("\(path) is a pickled checkpoint, which is never unpickled here (it can run code); convert it to .safetensors first")
        }
        let file = try SafeTensorsFile(path: path)
        let weights = Weights(file)
        tokenizer = try CLIPTokenizer(mergesFile: vocabulary)
        guard weights.has("cond_stage_model.transformer.text_model.embeddings.token_embedding.weight") else {
            throw .unsupported("\(path): no SD 1.x text encoder (cond_stage_model.transformer) found")
        }
        textEncoder = try CLIPTextEncoder(weights.scoped("cond_stage_model.transformer.text_model"))
        unet = try UNetModel(weights.scoped("model.diffusion_model"))
        decoder = try VAEDecoder(weights.scoped("first_stage_model"))
        fastDecoder = try fastPath.map { path throws(DiffusionError) in try TinyDecoder(SafeTensorsFile(path: path)) }
        guard unet.contextWidth == textEncoder.width else {
            throw .unsupported("\(path): the UNet reads \(unet.contextWidth)-wide text but the text encoder gives \(textEncoder.width)")
        }
    }

    /// How many pixels a latent value covers per side (8 for every SD model).
    public var latentScale: Int { decoder.upscale }
}
