import Foundation
import Testing
@testable import DiffusionEngine

/// The tiny SD 1.x model saved by diffusers' `save_pretrained` (sd1-tiny-diffusers, written by
/// scripts/reference/sd_reference.py from the same weights as the single file).
struct DiffusersFolderTests {
    static let path = Reference.directory.deletingLastPathComponent().appendingPathComponent("sd1-tiny-diffusers").path

    /// Every tensor the engine reads from the single file is found in the folder under the same
    /// name, with the same values.
    @Test func theFolderHoldsTheSingleFilesTensorsUnderItsNames() throws {
        let folder = try DiffusersFolder(path: Self.path), single = try SafeTensorsFile(path: Reference.checkpoint)
        let read = single.entries.keys.filter {
            $0.hasPrefix("model.diffusion_model.") || $0.hasPrefix("cond_stage_model.")
                || $0.hasPrefix("first_stage_model.decoder.") || $0.hasPrefix("first_stage_model.post_quant_conv.")
        }
        #expect(read.count > 100)
        for name in read {
            #expect(folder.shape(of: name).map { $0.reduce(1, *) } == single.shape(of: name).map { $0.reduce(1, *) }, "\(name)")
            #expect(try folder.tensor(name).values == single.tensor(name).values, "\(name)")
        }
        #expect(folder.metadata["visioncraft.prediction"] == "epsilon")
    }

    @Test func aFolderDrawsAsDiffusers() throws {
        #expect(DiffusersFolder.isFolder(Self.path) && !DiffusersFolder.isFolder(Reference.checkpoint))
        let model = try StableDiffusionModel(checkpoint: Self.path, vocabulary: Reference.vocabulary)
        #expect(model.family == .sd1 && model.prediction == .epsilon)
        try expectUNetOnTheReferencePrompts(model)
        let input = Reference.tensor("vae.input")
        let latent = FeatureMap(channels: input.shape[1], height: input.shape[2], width: input.shape[3], values: input.values)
        #expect(relativeError(try model.decoder.decode(latent, pool: Reference.pool).values, Reference.tensor("vae.output").values) < 1e-4)
    }

    /// SD 2.x as diffusers saves it: transformers' CLIP with GELU, ending at OpenCLIP's penultimate
    /// layer; v-prediction from the scheduler's config. It draws as the single file does.
    @Test func anSD2FolderDrawsAsDiffusers() throws {
        let path = SD2ReferenceTests.directory.deletingLastPathComponent().appendingPathComponent("sd2-tiny-diffusers").path
        let model = try StableDiffusionModel(checkpoint: path, vocabulary: Reference.vocabulary)
        #expect(model.family == .sd2 && model.prediction == .velocity)
        #expect(model.textEncoder.layerCount == 3)
        let prompt = SD2ReferenceTests.json["prompt"] as! String, negative = SD2ReferenceTests.json["negative_prompt"] as! String
        let rows = model.encodePrompt(prompt, pool: Reference.pool)
        #expect(relativeError(rows, SD2ReferenceTests.tensor("text.last").values) < 1e-5)
        try expectUNet(model, input: SD2ReferenceTests.tensor("unet.input"),
                       contexts: [model.encodePrompt(negative, pool: Reference.pool), rows], timestep: 631.5,
                       expected: SD2ReferenceTests.tensor("unet.output"))
    }

    @Test func aFolderWithoutWeightsIsRefusedByName() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vc-folder-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("unet"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        try Data("{}".utf8).write(to: directory.appendingPathComponent("model_index.json"))
        try Data().write(to: directory.appendingPathComponent("unet/diffusion_pytorch_model.bin"))
        func refusal() -> String {
            do {
                _ = try DiffusersFolder(path: directory.path)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(refusal().contains("unet/diffusion_pytorch_model.safetensors"))
        // A text encoder that is neither SD 1.x's (quick GELU) nor SD 2.x's (GELU) is refused.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("text_encoder"), withIntermediateDirectories: true)
        try Data(#"{"hidden_act": "relu"}"#.utf8).write(to: directory.appendingPathComponent("text_encoder/config.json"))
        #expect(refusal().contains("relu is not a Stable Diffusion 1.x or 2.x one"))
    }
}
