import Foundation
import Testing
@testable import DiffusionEngine

/// A kohya-format LoRA (diffusers' module names, a LoCon convolution among them) applied at weight
/// 0.8, against diffusers with PEFT on the same file; the model it was applied to stays as it was.
struct LoRAReferenceTests {
    static let lora = try! LoRAFile(path: Reference.directory.appendingPathComponent("lora.safetensors").path)
    static var weight: Float { Float(Reference.json["lora_weight"] as! Double) }

    @Test func textEmbeddingUNetAndImageAreDiffusersWithTheLoRA() throws {
        let model = try Reference.model.applying([(Self.lora, Self.weight)], pool: Reference.pool)
        let prompt = Reference.json["prompt"] as! String
        #expect(relativeError(model.encodePrompt(prompt, pool: Reference.pool), Reference.tensor("lora.text").values) < 1e-4)

        let contexts = [model.encodePrompt(Reference.json["negative_prompt"] as! String, pool: Reference.pool),
                        model.encodePrompt(prompt, pool: Reference.pool)]
        try expectUNet(model, input: Reference.tensor("unet.input"), contexts: contexts,
                       timestep: Float(Reference.json["unet_timestep"] as! Double), expected: Reference.tensor("lora.unet.output"))

        let settings = Reference.generation
        let request = ImageRequest(
            prompt: prompt, negativePrompt: settings["negative_prompt"] as! String, width: settings["width"] as! Int,
            height: settings["height"] as! Int, steps: settings["steps"] as! Int, guidance: Float(settings["cfg"] as! Double),
            sampler: .euler, seed: UInt64(settings["seed"] as! Int))
        let image = try model.decoder.decode(try model.generateLatents(request, pool: Reference.pool), pool: Reference.pool)
        let pixels = image.values.map { min(max($0 / 2 + 0.5, 0), 1) }
        #expect(relativeError(pixels, Reference.tensor("lora.euler.image").values) < 1e-4)

        // The model the LoRA was applied to is untouched.
        #expect(relativeError(Reference.model.encodePrompt(prompt, pool: Reference.pool), Reference.tensor("text.last").values) < 1e-5)
    }

    @Test func compVisAndDiffusersNamesReachTheSameLayer() {
        let unet = Reference.model.unet
        #expect(unet.diffusersName(of: "input_blocks.1.1.transformer_blocks.0.attn1.to_q")
            == "down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q")
        #expect(unet.diffusersName(of: "input_blocks.3.0.in_layers.2") == "down_blocks.1.resnets.0.conv1")
        #expect(unet.diffusersName(of: "input_blocks.2.0.op") == "down_blocks.0.downsamplers.0.conv")
        #expect(unet.diffusersName(of: "middle_block.1.proj_out") == "mid_block.attentions.0.proj_out")
        #expect(unet.diffusersName(of: "output_blocks.1.1.conv") == "up_blocks.0.upsamplers.0.conv")
        #expect(unet.diffusersName(of: "output_blocks.3.1.proj_in") == "up_blocks.1.attentions.1.proj_in")
    }

    @Test func aFileThatIsNoLoRAOrFitsNoLayerIsRefused() throws {
        #expect(throws: DiffusionError.self) {
            _ = try LoRAFile(path: Reference.directory.appendingPathComponent("taesd_decoder.safetensors").path)
        }
        // An SDXL-only module name (the second text encoder) matches nothing in an SD 1.x model.
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("other-lora-\(getpid()).safetensors").path
        try writeSafeTensors(path, [
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": ([1, 16], [Float](repeating: 0.5, count: 16)),
            "lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": ([64, 1], [Float](repeating: 0.5, count: 64)),
        ])
        let other = try LoRAFile(path: path)
        #expect(throws: DiffusionError.self) { _ = try Reference.model.applying([(other, 1)], pool: Reference.pool) }
    }
}

/// A float32 `.safetensors` file, written as the format specifies (tests only).
func writeSafeTensors(_ path: String, _ tensors: [String: (shape: [Int], values: [Float])]) throws {
    var header: [String: Any] = [:]
    var data: [UInt8] = []
    for name in tensors.keys.sorted() {
        let (shape, values) = tensors[name]!
        header[name] = ["dtype": "F32", "shape": shape, "data_offsets": [data.count, data.count + 4 * values.count]]
        for value in values { withUnsafeBytes(of: value.bitPattern.littleEndian) { data += $0 } }
    }
    let json = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes += $0 }
    bytes += json
    bytes += data
    try Data(bytes).write(to: URL(fileURLWithPath: path))
}
