import LLMEngine
import Testing
@testable import DiffusionEngine

/// The tiny SD 1.x model as stable-diffusion.cpp's GGUF, with every quantized type the engine
/// reads among its weights, against diffusers running on the same weights dequantized by gguf-py.
struct GGUFCheckpointTests {
    static let model = try! StableDiffusionModel(
        checkpoint: Reference.directory.appendingPathComponent("model.gguf").path, vocabulary: Reference.vocabulary)

    @Test func theFileHoldsEachQuantizedType() throws {
        let source = try GGUFTensorSource(path: Reference.directory.appendingPathComponent("model.gguf").path)
        let types = Set(source.file.tensors.map(\.type))
        #expect(types == [.q8_0, .q4_0, .q4_1, .q5_0, .q5_1, .f16, .f32])
    }

    @Test func textUNetAndVAEAreDiffusersOnTheDequantizedWeights() throws {
        let model = Self.model
        let prompt = Reference.json["prompt"] as! String
        #expect(relativeError(model.encodePrompt(prompt, pool: Reference.pool), Reference.tensor("gguf.text.last").values) < 1e-4)
        let contexts = [model.encodePrompt(Reference.json["negative_prompt"] as! String, pool: Reference.pool),
                        model.encodePrompt(prompt, pool: Reference.pool)]
        try expectUNet(model, input: Reference.tensor("unet.input"), contexts: contexts, timestep: 631.5,
                       expected: Reference.tensor("gguf.unet.output"))
        let latent = Reference.tensor("vae.input")
        let image = try model.decoder.decode(
            FeatureMap(channels: latent.shape[1], height: latent.shape[2], width: latent.shape[3], values: latent.values),
            pool: Reference.pool)
        #expect(relativeError(image.values, Reference.tensor("gguf.vae.output").values) < 1e-4)
        // Quantization moved the weights: the float file's output is not this one.
        #expect(relativeError(Reference.tensor("gguf.unet.output").values, Reference.tensor("unet.output").values) > 1e-3)
    }
}
