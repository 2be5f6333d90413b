import Testing
@testable import DiffusionEngine

/// The fast mode (weights and products in BF16, sums in float) against diffusers' f32 values: the
/// same passes as `ModelReferenceTests`, within BF16's stated tolerances — one pass of each network
/// within 2% of the largest expected magnitude (measured here: see docs/diffusion.md).
struct BF16ReferenceTests {
    static let model = try! StableDiffusionModel(checkpoint: Reference.checkpoint, vocabulary: Reference.vocabulary,
                                                 fastDecoder: Reference.directory.appendingPathComponent("taesd_decoder.safetensors").path,
                                                 precision: .bfloat16)

    @Test func unetStaysCloseToDiffusers() throws {
        try expectUNetOnTheReferencePrompts(Self.model, tolerance: 2e-2)
    }

    /// SDXL's UNet (deeper transformers, the extra conditioning) in BF16, on its fixture.
    @Test func sdxlUNetStaysCloseToDiffusers() throws {
        let model = try StableDiffusionModel(
            checkpoint: SDXLReferenceTests.directory.appendingPathComponent("model.safetensors").path,
            vocabulary: Reference.vocabulary, precision: .bfloat16)
        #expect(model.unet.convIn.weight.precision == .bfloat16)
        let conditionings = try [SDXLReferenceTests.negative, SDXLReferenceTests.plain].map { text throws in
            try model.condition(on: text, width: 96, height: 64, pool: Reference.pool)
        }
        try expectUNet(model, input: SDXLReferenceTests.tensor("unet.input"), contexts: conditionings.map(\.context),
                       labels: conditionings.map { $0.labels! }, timestep: 631.5,
                       expected: SDXLReferenceTests.tensor("unet.output"), tolerance: 2e-2)
    }

    /// An animation's frames go through the UNet's convolutions and linear layers together; each
    /// frame comes out with the same bits as when it goes through alone.
    @Test func framesTogetherGiveEachFrameAloneBitForBit() throws {
        let input = Reference.tensor("unet.input")
        let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
        let size = channels * height * width
        let frames = (0..<2).map { i in
            FeatureMap(channels: channels, height: height, width: width, values: Array(input.values[i * size..<(i + 1) * size]))
        } + [FeatureMap(channels: channels, height: height, width: width, values: input.values[0..<size].map { -$0 })]
        let context = Self.model.encodePrompt(Reference.json["prompt"] as! String, pool: Reference.pool)
        let together = try Self.model.unet.predictNoise(frames: frames, timestep: 500, context: context, pool: Reference.parallelPool)
        for (index, frame) in frames.enumerated() {
            let alone = try Self.model.unet.predictNoise(frame, timestep: 500, context: context, pool: Reference.parallelPool)
            #expect(together[index].values.map(\.bitPattern) == alone.values.map(\.bitPattern), "frame \(index)")
        }
        #expect(together[0].values != together[1].values)
    }

    @Test func decodersStayCloseToDiffusers() throws {
        let input = Reference.tensor("vae.input")
        let latent = FeatureMap(channels: input.shape[1], height: input.shape[2], width: input.shape[3], values: input.values)
        let image = try Self.model.decoder.decode(latent, pool: Reference.parallelPool)
        #expect(relativeError(image.values, Reference.tensor("vae.output").values) < 2e-2)
        let fast = try Self.model.fastDecoder!.decode(latent, pool: Reference.pool)
        #expect(relativeError(fast.values, Reference.tensor("taesd.output").values) < 2e-2)
    }

    /// The mode is real: its weights are BF16 and its output differs from the exact mode's.
    @Test func theFastModeRoundsItsWeights() throws {
        #expect(Self.model.unet.convIn.weight.precision == .bfloat16)
        #expect(Reference.model.unet.convIn.weight.precision == .float32)
    }
}
