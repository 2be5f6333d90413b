import Foundation
import Testing
@testable import DiffusionEngine

/// SD 2.x against diffusers on a tiny random-weight model in AUTOMATIC1111's single-file layout:
/// OpenCLIP's packed text tower read at its penultimate layer, "!" padding, linear projections in
/// the UNet's attention, and v-prediction through samplers of both families.
@Suite(.serialized) struct SD2ReferenceTests {
    static let fixture = ReferenceFixture("sd2-tiny")
    static var directory: URL { fixture.directory }
    static var json: [String: Any] { fixture.json }
    static let model = try! StableDiffusionModel(
        checkpoint: directory.appendingPathComponent("model.safetensors").path, vocabulary: Reference.vocabulary)

    static func tensor(_ name: String) -> Tensor { fixture.tensor(name) }

    @Test func theFamilyAndPredictionAreReadFromTheFile() {
        #expect(Self.model.family == .sd2)
        #expect(Self.model.prediction == .velocity)
        #expect(Self.model.textEncoder.layerCount == 4, "the whole tower is loaded; the last layer is skipped when encoding")
    }

    @Test func textEmbeddingIsDiffusersPenultimateLayerWithBangPadding() {
        let rows = Self.model.encodePrompt(Self.json["prompt"] as! String, pool: Reference.pool)
        #expect(relativeError(rows, Self.tensor("text.last").values) < 1e-5)
        // Clip skip does not apply to SD 2.x (AUTOMATIC1111 ignores it there too).
        #expect(Self.model.encodePrompt(Self.json["prompt"] as! String, clipSkip: 2, pool: Reference.pool) == rows)
    }

    @Test func unetWithLinearProjectionsPredictsAsDiffusers() throws {
        let contexts = [Self.model.encodePrompt(Self.json["negative_prompt"] as! String, pool: Reference.pool),
                        Self.model.encodePrompt(Self.json["prompt"] as! String, pool: Reference.pool)]
        try expectUNet(Self.model, input: Self.tensor("unet.input"), contexts: contexts, timestep: 631.5,
                       expected: Self.tensor("unet.output"))
    }

    @Test(arguments: [ImageSampler.euler, .eulerAncestral, .dpmPlusPlus2M, .ddim, .lcm])
    func vPredictionStepsAreDiffusers(_ sampler: ImageSampler) throws {
        let settings = Self.json["generation"] as! [String: Any]
        let request = ImageRequest(
            prompt: settings["prompt"] as! String, negativePrompt: settings["negative_prompt"] as! String,
            width: settings["width"] as! Int, height: settings["height"] as! Int, steps: settings["steps"] as! Int,
            guidance: sampler == .lcm ? 1 : Float(settings["cfg"] as! Double), sampler: sampler,
            seed: UInt64(settings["seed"] as! Int))
        var steps: [[Float]] = []
        let latents = try Self.model.generateLatents(request, pool: Reference.pool, onStep: { _, latents in steps.append(latents) })
        #expect(steps.count == request.steps)
        for (index, values) in steps.enumerated() {
            #expect(relativeError(values, Self.tensor("sampler.\(sampler.rawValue).step\(index)").values) < 1e-4, "step \(index)")
        }
        let image = try Self.model.decoder.decode(latents, pool: Reference.pool)
        let pixels = image.values.map { min(max($0 / 2 + 0.5, 0), 1) }
        #expect(relativeError(pixels, Self.tensor("sampler.\(sampler.rawValue).image").values) < 1e-4)
    }
}
