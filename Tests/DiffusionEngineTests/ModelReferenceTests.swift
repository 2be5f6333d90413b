import Testing
@testable import DiffusionEngine

/// One pass of each network against diffusers, on the same float16-exact weights, in f32.
struct ModelReferenceTests {
    @Test func unetPredictsDiffusersNoiseForEachContext() throws {
        try expectUNetOnTheReferencePrompts(Reference.model)
    }

    @Test func vaeDecodesAsDiffusers() throws {
        let input = Reference.tensor("vae.input"), expected = Reference.tensor("vae.output")
        let latent = FeatureMap(channels: input.shape[1], height: input.shape[2], width: input.shape[3], values: input.values)
        let image = try Reference.model.decoder.decode(latent, pool: Reference.parallelPool)
        #expect(image.channels == 3 && image.height == 8 * input.shape[2] && image.width == 8 * input.shape[3])
        #expect(relativeError(image.values, expected.values) < 1e-4)
    }
}

/// TAESD read from its own file layout, against diffusers' AutoencoderTiny on the same latents.
struct TinyDecoderReferenceTests {
    @Test func taesdDecodesAsDiffusers() throws {
        let file = try SafeTensorsFile(path: Reference.directory.appendingPathComponent("taesd_decoder.safetensors").path)
        let decoder = try TinyDecoder(file)
        #expect(decoder.upscale == 8)
        let input = Reference.tensor("vae.input"), expected = Reference.tensor("taesd.output")
        let latent = FeatureMap(channels: input.shape[1], height: input.shape[2], width: input.shape[3], values: input.values)
        let image = try decoder.decode(latent, pool: Reference.pool)
        #expect(image.channels == 3 && image.height == 8 * input.shape[2] && image.width == 8 * input.shape[3])
        #expect(relativeError(image.values, expected.values) < 1e-4)
    }
}
