import Foundation
import Testing
@testable import LLMEngine

/// What the default model does not exercise, on tiny random-weight files: Qwen2 (Q/K/V biases,
/// RoPE over half-head pairs, Q4_1), a Llama 2-style file (SentencePiece vocabulary, untied
/// output, Q4_0 summed per block as llama.cpp sums the matrices it repacks), and the same with
/// Q5_0 and Q5_1 weights. In llama.cpp's product order every logit of every position must be
/// llama.cpp's, bit for bit; in the blockwise order within the tolerance its rounding allows. Files
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

    /// Rounding in another order moves a product by about a millionth of its size, but where it
    /// moves an activation across a rounding boundary of the next 8-bit quantization, that value
    /// moves by a whole step; on random weights that can shift a logit by a few tenths. So: most
    /// positions within a thousandth, none beyond 5% of the logits' range.
    @Test(arguments: cases)
    func blockwiseLogitsFollowLlamaCpps(_ reference: Case) throws {
        var close = 0
        try forEachPosition(reference, order: .blockwise) { position, logits, expected, worst in
            let range = expected.max()! - expected.min()!
            #expect(worst <= 0.05 * range, "position \(position): largest difference \(worst) in a range of \(range)")
            if worst <= 1e-3 { close += 1 }
        }
        #expect(close * 3 >= Self.tokens.count * 2, "\(close) of \(Self.tokens.count) positions within 0.001")
    }

    func forEachPosition(
        _ reference: Case, order: ProductOrder, _ check: (Int, [Float], [Float], Float) -> Void
    ) throws {
        let url = try #require(Bundle.module.url(
            forResource: (reference.file as NSString).deletingPathExtension, withExtension: "gguf", subdirectory: "Reference"))
        let model = try LlamaModel(path: url.path, threads: 2, order: order)
        #expect(model.config.architecture == reference.architecture)
        let state = model.makeState(capacity: 64)
        for (position, token) in Self.tokens.enumerated() {
            model.forward(token: token, state: state)
            let expected = reference.logits[position]
            let worst = expected.indices.map { abs(state.logits[$0] - expected[$0]) }.max() ?? 0
            check(position, Array(state.logits), expected, worst)
        }
    }
}
