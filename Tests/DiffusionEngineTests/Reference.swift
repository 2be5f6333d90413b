import Foundation
import LLMEngine
import Testing
@testable import DiffusionEngine

/// The tiny SD 1.x fixture and what diffusers computed with it (scripts/reference/sd_reference.py).
enum Reference {
    static let directory = Bundle.module.url(forResource: "sd1-tiny", withExtension: nil, subdirectory: "Reference")!
    static let checkpoint = directory.appendingPathComponent("model.safetensors").path
    /// The CLIP vocabulary `make model` fetches.
    static let vocabulary = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("data/models/clip/bpe_simple_vocab_16e6.txt").path

    nonisolated(unsafe) static let json: [String: Any] = {
        let url = directory.appendingPathComponent("expected.json")
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static let expected = try! SafeTensorsFile(path: directory.appendingPathComponent("expected.safetensors").path)

    static func tensor(_ name: String) -> Tensor { try! expected.tensor(name) }

    static let model = try! StableDiffusionModel(checkpoint: checkpoint, vocabulary: vocabulary)

    /// One thread: the suites run side by side with the server's, and compute pools spin while
    /// they hand work over, which on two cores starves everything else. `parallelPool` checks that
    /// splitting the work between threads changes nothing.
    static let pool = ComputePool(threadCount: 1)
    static let parallelPool = ComputePool(threadCount: 2)

    static var generation: [String: Any] { json["generation"] as! [String: Any] }
}

/// One fixture folder under `Reference/` written by a reference script: its expected values and
/// the settings they were computed with.
struct ReferenceFixture: @unchecked Sendable {
    // @unchecked: `json` is parsed once and only read.
    let directory: URL
    let expected: SafeTensorsFile
    let json: [String: Any]

    init(_ name: String) {
        directory = Bundle.module.url(forResource: name, withExtension: nil, subdirectory: "Reference")!
        expected = try! SafeTensorsFile(path: directory.appendingPathComponent("expected.safetensors").path)
        json = try! JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent("expected.json"))) as! [String: Any]
    }

    func tensor(_ name: String) -> Tensor { try! expected.tensor(name) }
}

/// The largest difference relative to the largest expected magnitude.
func relativeError(_ actual: [Float], _ expected: [Float]) -> Float {
    precondition(actual.count == expected.count, "compared tensors differ in size: \(actual.count) vs \(expected.count)")
    var worst: Float = 0, scale: Float = 0
    for (a, e) in zip(actual, expected) {
        worst = max(worst, abs(a - e))
        scale = max(scale, abs(e))
    }
    return worst / max(scale, 1e-30)
}

/// One UNet pass per context on the reference's two-image input (image i under context i and, for
/// SDXL, labels i), each against its half of `expected`.
func expectUNet(
    _ model: StableDiffusionModel, input: Tensor, contexts: [[Float]], labels: [[Float]]? = nil, timestep: Float,
    expected: Tensor, pool: ComputePool = Reference.pool, tolerance: Float = 1e-4
) throws {
    let (channels, height, width) = (input.shape[1], input.shape[2], input.shape[3])
    let size = channels * height * width
    for (index, context) in contexts.enumerated() {
        let latent = FeatureMap(channels: channels, height: height, width: width,
                                values: Array(input.values[index * size..<(index + 1) * size]))
        let output = try model.unet.predictNoise(latent, timestep: timestep, context: context, labels: labels?[index], pool: pool)
        #expect(relativeError(output.values, Array(expected.values[index * size..<(index + 1) * size])) < tolerance,
                "image \(index)")
    }
}

/// `expectUNet` on the reference's UNet input under its negative and positive prompts, two threads.
func expectUNetOnTheReferencePrompts(_ model: StableDiffusionModel, tolerance: Float = 1e-4) throws {
    let negative = model.encodePrompt(Reference.json["negative_prompt"] as! String, pool: Reference.pool)
    let positive = model.encodePrompt(Reference.json["prompt"] as! String, pool: Reference.pool)
    try expectUNet(model, input: Reference.tensor("unet.input"), contexts: [negative, positive],
                   timestep: Float(Reference.json["unet_timestep"] as! Double), expected: Reference.tensor("unet.output"),
                   pool: Reference.parallelPool, tolerance: tolerance)
}
