import Foundation
import Testing
@testable import LLMEngine

/// What the default model does not exercise, on tiny random-weight files: Qwen2 (Q/K/V biases,
/// RoPE over half-head pairs, Q4_1), a Llama 2-style file (SentencePiece vocabulary, untied
/// output, Q4_0 summed per block as llama.cpp sums the matrices it repacks), the same with Q5_0 and
/// Q5_1 weights, Phi-3 (Q, K and V fused in one matrix, gate and up in another, queries scaled
/// before attention), Qwen 3 (per-head Q/K norms, heads wider than the embedding's share) and Gemma 3
/// (those too, post-norms, GELU-tanh gating, the embedding scale, queries scaled before attention,
/// sliding-window layers of 4 positions with their own RoPE base beside a global one, crossed by
/// the 12 tokens). In llama.cpp's product order every logit of every position must be
/// llama.cpp's, bit for bit; in the blockwise order within what its rounding and its 8-bit KV
/// cache allow. Files
/// and golden values from scripts/reference/tiny_model_reference.py.
struct TinyModelReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var architecture: String
        var logits: [[Float]]
        var description: String { file }
    }

    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = Bundle.module.url(forResource: "tiny-models-reference", withExtension: "json", subdirectory: "Reference")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static let tokens: [Int32] = (reference["tokens"] as! [Int]).map(Int32.init)

    static let cases: [Case] = (reference["models"] as! [[String: Any]]).map {
        Case(file: $0["file"] as! String, architecture: $0["architecture"] as! String,
             logits: ($0["logits"] as! [[Double]]).map { $0.map(Float.init) })
    }

    @Test(arguments: cases)
    func everyLogitIsLlamaCpps(_ reference: Case) throws {
        try forEachPosition(reference, order: .llamaCpp) { position, logits, expected, worst in
            #expect(logits == expected, "position \(position): largest difference \(worst)")
        }
    }

    /// The blockwise order rounds its products in another order and keeps the KV cache in 8-bit
    /// integers (keys per 32 values, values per row, each with a scale), so every logit moves a
    /// little: on these random weights by 0.2–1.4% of the logits' range (measured). None may move
    /// beyond 2.5% of the range.
    @Test(arguments: cases)
    func blockwiseLogitsFollowLlamaCpps(_ reference: Case) throws {
        try forEachPosition(reference, order: .blockwise) { position, logits, expected, worst in
            let range = expected.max()! - expected.min()!
            #expect(worst <= 0.025 * range, "position \(position): largest difference \(worst) in a range of \(range)")
        }
    }

    func forEachPosition(
        _ reference: Case, order: ProductOrder, _ check: (Int, [Float], [Float], Float) -> Void
    ) throws {
        let url = try #require(Bundle.module.url(
            forResource: (reference.file as NSString).deletingPathExtension, withExtension: "gguf", subdirectory: "Reference"))
        let model = try LlamaModel(path: url.path, threads: 2, order: order)
        #expect(model.config.architecture.name == reference.architecture)
        let state = model.makeState(capacity: 64)
        for (position, token) in Self.tokens.enumerated() {
            model.forward(token: token, state: state)
            let expected = reference.logits[position]
            let worst = expected.indices.map { abs(state.logits[$0] - expected[$0]) }.max() ?? 0
            check(position, Array(state.logits), expected, worst)
        }
    }
}
