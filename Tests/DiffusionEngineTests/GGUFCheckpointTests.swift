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

    /// The fast mode keeps the quantized blocks and multiplies them with 8-bit activations, as
    /// stable-diffusion.cpp does: within 3% of diffusers on the dequantized weights (2.1% measured
    /// on this tiny model, whose 32-wide rows are single blocks; BF16 alone stays within 2%).
    @Test func theFastModeMultipliesTheQuantizedBlocksAsTheyAre() throws {
        let model = try StableDiffusionModel(
            checkpoint: Reference.directory.appendingPathComponent("model.gguf").path, vocabulary: Reference.vocabulary,
            precision: .bfloat16)
        var kinds: Set<String> = []
        for case .transformer(let block) in model.unet.inputBlocks.joined() {
            for layer in block.blocks {
                if case .quantized(let matrix) = layer.attention1.query.weight.storage { kinds.insert(matrix.tensor.type.name) }
            }
        }
        #expect(!kinds.isEmpty, "attention weights stay quantized")
        let prompt = Reference.json["prompt"] as! String
        let contexts = [model.encodePrompt(Reference.json["negative_prompt"] as! String, pool: Reference.pool),
                        model.encodePrompt(prompt, pool: Reference.pool)]
        try expectUNet(model, input: Reference.tensor("unet.input"), contexts: contexts, timestep: 631.5,
                       expected: Reference.tensor("gguf.unet.output"), tolerance: 3e-2)
    }

    /// One quantized product against the dequantized weights in double: rows in pieces across
    /// threads (a short last piece), with and without accumulating; what is left is the 8-bit
    /// activations' rounding.
    @Test(arguments: [GGMLType.q8_0, .q4_0, .q4_1, .q5_0, .q5_1])
    func aQuantizedProductIsTheDequantizedOne(_ type: GGMLType) throws {
        let source = try GGUFTensorSource(path: Reference.directory.appendingPathComponent("model.gguf").path)
        let tensor = try #require(source.file.tensors.first { $0.type == type && $0.rowLength % 32 == 0 && $0.dimensions.count == 2 })
        let matrix = try #require(QuantizedMatrix(tensor, in: source.file))
        let (rows, inputs, outputs) = (70, matrix.inputs, matrix.outputs)
        var generator = TorchGenerator(seed: 3)
        let x = generator.normal(count: rows * inputs), w = matrix.floats()
        var expected = [Float](repeating: 0, count: rows * outputs)
        for r in 0..<rows {
            for o in 0..<outputs {
                var sum = 0.0
                for i in 0..<inputs { sum += Double(x[r * inputs + i]) * Double(w[o * inputs + i]) }
                expected[r * outputs + o] = Float(sum)
            }
        }
        var y = [Float](repeating: 0, count: rows * outputs), accumulated = [Float](repeating: 1, count: rows * outputs)
        x.withUnsafeBufferPointer { x in
            y.withUnsafeMutableBufferPointer { y in
                matrix.multiply(x.baseAddress!, rows: rows, into: y.baseAddress!, accumulate: false, pool: Reference.parallelPool)
            }
            accumulated.withUnsafeMutableBufferPointer { y in
                matrix.multiply(x.baseAddress!, rows: rows, into: y.baseAddress!, accumulate: true, pool: Reference.parallelPool)
            }
        }
        #expect(relativeError(y, expected) < 1e-2)
        #expect(relativeError(y, expected) > 0, "the activations are rounded to 8 bits")
        #expect(zip(accumulated, y).allSatisfy { abs($0 - 1 - $1) <= 1e-5 * max(1, abs($1)) })
    }
}
