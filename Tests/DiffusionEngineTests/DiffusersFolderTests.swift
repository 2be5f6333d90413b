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
        // An SD 2.x text encoder (GELU) is refused rather than read as SD 1.x's.
        try FileManager.default.createDirectory(at: directory.appendingPathComponent("text_encoder"), withIntermediateDirectories: true)
        try Data(#"{"hidden_act": "gelu"}"#.utf8).write(to: directory.appendingPathComponent("text_encoder/config.json"))
        #expect(refusal().contains("not supported yet"))
    }
}
