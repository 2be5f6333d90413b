import Foundation
import Testing
@testable import DiffusionEngine

/// SDXL against diffusers' StableDiffusionXLPipeline on a tiny random-weight model in sgm's
/// single-file layout (scripts/reference/sdxl_reference.py): two text encoders read before their
/// final norm and joined row by row, the pooled text and image sizes as the UNet's extra
/// conditioning, transformers of depth two, SDXL's latent scale.
@Suite(.serialized) struct SDXLReferenceTests {
    static let fixture = ReferenceFixture("sdxl-tiny")
    static var directory: URL { fixture.directory }
    static var json: [String: Any] { fixture.json }
    static let model = try! StableDiffusionModel(
        checkpoint: directory.appendingPathComponent("model.safetensors").path, vocabulary: Reference.vocabulary)

    static func tensor(_ name: String) -> Tensor { fixture.tensor(name) }
    static var plain: String { json["plain_prompt"] as! String }
    static var negative: String { json["negative_prompt"] as! String }

    @Test func theArchitectureIsReadFromTheWeights() {
        #expect(Self.model.family == .sdxl)
        #expect(Self.model.prediction == .epsilon)
        #expect(Self.model.unet.contextWidth == 24)
        #expect(Self.model.unet.labelWidth == 64)
        #expect(Self.model.decoder.scalingFactor == 0.13025)
    }

    @Test func bothTokenizationsAreDiffusers() {
        let tokens = PromptChunks(Self.plain, tokenizer: Self.model.tokenizer).chunks[0].tokens
        #expect(tokens.map(Float.init) == Self.tensor("text.ids").values)
        #expect(StableDiffusionModel.paddedWithZeros(tokens).map(Float.init) == Self.tensor("text2.ids").values)
    }

    @Test func conditioningIsDiffusersEncodePrompt() throws {
        for (text, name) in [(Self.plain, "plain"), (Self.negative, "negative")] {
            let conditioning = try Self.model.condition(on: text, width: 96, height: 64, pool: Reference.pool)
            #expect(relativeError(conditioning.context, Self.tensor("\(name).context").values) < 1e-5, "\(name)")
            let pooled = Self.tensor("\(name).pooled").values
            #expect(relativeError(Array(try #require(conditioning.labels).prefix(pooled.count)), pooled) < 1e-5, "\(name)")
        }
        // Emphasis scales the joined rows (their mean kept), and clip skip reaches one layer
        // further back in both encoders, as in AUTOMATIC1111.
        let emphasized = try Self.model.condition(on: Self.json["prompt"] as! String, width: 96, height: 64, pool: Reference.pool)
        #expect(emphasized.context.count == 77 * 24)
        #expect(relativeError(emphasized.context, Self.tensor("plain.context").values) > 1e-2)
        let skipped = try Self.model.condition(on: Self.plain, clipSkip: 2, width: 96, height: 64, pool: Reference.pool)
        #expect(relativeError(skipped.context, Self.tensor("plain.context").values) > 1e-2)
    }

    @Test func unetWithTheExtraConditioningPredictsAsDiffusers() throws {
        let conditionings = try [Self.negative, Self.plain].map { text throws in
            try Self.model.condition(on: text, width: 96, height: 64, pool: Reference.pool)
        }
        try expectUNet(Self.model, input: Self.tensor("unet.input"), contexts: conditionings.map(\.context),
                       labels: conditionings.map { $0.labels! }, timestep: Float(Self.json["unet_timestep"] as! Double),
                       expected: Self.tensor("unet.output"))
    }

    @Test(arguments: (json["samplers"] as! [[String: Any]]).map { $0["key"] as! String })
    func everyStepIsDiffusers(_ key: String) throws {
        let settings = Self.json["generation"] as! [String: Any]
        let run = try #require((Self.json["samplers"] as! [[String: Any]]).first { $0["key"] as? String == key })
        let request = ImageRequest(
            prompt: Self.plain, negativePrompt: run["negative_prompt"] as! String,
            width: settings["width"] as! Int, height: settings["height"] as! Int, steps: settings["steps"] as! Int,
            guidance: Float(settings["cfg"] as! Double), sampler: try #require(ImageSampler(rawValue: run["sampler"] as! String)),
            seed: UInt64(settings["seed"] as! Int))
        var steps: [[Float]] = []
        let latents = try Self.model.generateLatents(request, pool: Reference.pool, onStep: { _, latents in steps.append(latents) })
        #expect(steps.count == run["unet_calls"] as! Int)
        for (index, values) in steps.enumerated() {
            #expect(relativeError(values, Self.tensor("sampler.\(key).step\(index)").values) < 1e-4, "step \(index)")
        }
        let image = try Self.model.decoder.decode(latents, pool: Reference.pool)
        let pixels = image.values.map { min(max($0 / 2 + 0.5, 0), 1) }
        #expect(relativeError(pixels, Self.tensor("sampler.\(key).image").values) < 1e-4)
    }

    /// The same model as diffusers saves it: the second encoder in transformers' layout with its
    /// projection, heads' width from the per-level `attention_head_dim`.
    @Test func theDiffusersFolderDrawsAsDiffusers() throws {
        let path = Self.directory.deletingLastPathComponent().appendingPathComponent("sdxl-tiny-diffusers").path
        let model = try StableDiffusionModel(checkpoint: path, vocabulary: Reference.vocabulary)
        #expect(model.family == .sdxl)
        let conditionings = try [Self.negative, Self.plain].map { text throws in
            try model.condition(on: text, width: 96, height: 64, pool: Reference.pool)
        }
        let pooled = Self.tensor("plain.pooled").values
        #expect(relativeError(Array(conditionings[1].labels!.prefix(pooled.count)), pooled) < 1e-5)
        try expectUNet(model, input: Self.tensor("unet.input"), contexts: conditionings.map(\.context),
                       labels: conditionings.map { $0.labels! }, timestep: Float(Self.json["unet_timestep"] as! Double),
                       expected: Self.tensor("unet.output"))
    }

    /// A kohya SDXL LoRA (UNet, `lora_te1_`, `lora_te2_`) applied as diffusers applies it: the
    /// conditioning (both encoders, the pooled text) and one UNet pass.
    @Test func aLoRAOnBothEncodersAndTheUNetIsDiffusers() throws {
        let file = try LoRAFile(path: Self.directory.appendingPathComponent("lora.safetensors").path)
        let model = try Self.model.applying([(file, Float(Self.json["lora_weight"] as! Double))], pool: Reference.pool)
        let conditionings = try [Self.negative, Self.plain].map { text throws in
            try model.condition(on: text, width: 96, height: 64, pool: Reference.pool)
        }
        #expect(relativeError(conditionings[1].context, Self.tensor("lora.plain.context").values) < 1e-4)
        #expect(relativeError(conditionings[1].context, Self.tensor("plain.context").values) > 1e-2, "the LoRA changes the text")
        let pooled = Self.tensor("lora.plain.pooled").values
        #expect(relativeError(Array(conditionings[1].labels!.prefix(pooled.count)), pooled) < 1e-4)
        #expect(relativeError(pooled, Self.tensor("plain.pooled").values) > 1e-2, "the second encoder's LoRA is applied")
        try expectUNet(model, input: Self.tensor("unet.input"), contexts: conditionings.map(\.context),
                       labels: conditionings.map { $0.labels! }, timestep: Float(Self.json["unet_timestep"] as! Double),
                       expected: Self.tensor("lora.unet.output"))
    }
}
