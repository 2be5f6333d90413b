import Foundation
import Testing
@testable import LLMEngine

/// Tiny random-weight Llama files quantized by llama.cpp itself into each K-quant and IQ4 type
/// (Q2_K, Q3_K_M, Q4_K_M, Q5_K_M, Q6_K, IQ4_NL, IQ4_XS — with the types llama.cpp mixes in), and
/// llama.cpp's logits for each: in llama.cpp's product order every logit of every position is
/// llama.cpp's to the bit (its activations in 256-value blocks, its sums in its order — also on
/// the portable and AVX2 paths, `make test` runs this suite on each); in the blockwise order, which
/// rewrites the weights for its integer kernels, within 2.5% of the logits' range. Files and golden
/// values from scripts/reference/kquant_model_reference.py.
struct KQuantModelReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        var file: String
        var tensorTypes: [String]
        var logits: [[Float]]
        var description: String { file }
    }

    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = Bundle.module.url(forResource: "kquant-models-reference", withExtension: "json", subdirectory: "Reference")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static let tokens: [Int32] = (reference["tokens"] as! [Int]).map(Int32.init)

    static let cases: [Case] = (reference["models"] as! [[String: Any]]).map {
        Case(file: $0["file"] as! String, tensorTypes: $0["tensor_types"] as! [String],
             logits: ($0["logits"] as! [[Double]]).map { $0.map(Float.init) })
    }

    @Test(arguments: cases, ProductOrder.allCases)
    func everyLogitFollowsLlamaCpps(_ reference: Case, order: ProductOrder) throws {
        let url = try #require(Bundle.module.url(
            forResource: (reference.file as NSString).deletingPathExtension, withExtension: "gguf", subdirectory: "Reference"))
        let model = try LlamaModel(path: url.path, threads: 2, order: order)
        let types = Set(model.file.tensors.map(\.type.name))
        #expect(types == Set(reference.tensorTypes), "the file holds \(types.sorted())")
        let state = model.makeState(capacity: 64)
        var worstShare: Float = 0
        for (position, token) in Self.tokens.enumerated() {
            model.forward(token: token, state: state)
            let expected = reference.logits[position]
            let worst = expected.indices.map { abs(state.logits[$0] - expected[$0]) }.max() ?? 0
            worstShare = max(worstShare, worst / (expected.max()! - expected.min()!))
        }
        if order == .llamaCpp {
            #expect(worstShare == 0, "a logit \(worstShare * 100)% of the logits' range from llama.cpp's, not its bits")
        }
        #expect(worstShare <= 0.025, "a logit \(worstShare * 100)% of the logits' range from llama.cpp's")
    }

    /// Two sequences' prompts in one batch (19 vectors: tiles of four and a rest, the Q8_K made by
    /// both threads) give each the logits it gets alone, token by token — in llama.cpp's order
    /// llama.cpp's own.
    @Test(arguments: cases, ProductOrder.allCases)
    func sequencesInOneBatchGetWhatEachGetsAlone(_ reference: Case, order: ProductOrder) throws {
        let url = try #require(Bundle.module.url(
            forResource: (reference.file as NSString).deletingPathExtension, withExtension: "gguf", subdirectory: "Reference"))
        let model = try LlamaModel(path: url.path, threads: 2, order: order)
        let tokens = Self.tokens, shorter = Array(tokens.prefix(7))
        func alone(_ prompt: [Int32]) -> [Float] {
            let state = model.makeState(capacity: 64)
            for token in prompt { model.forward(token: token, state: state) }
            return Array(state.logits)
        }
        let first = model.makeState(capacity: 64), second = model.makeState(capacity: 64)
        let steps = tokens.indices.map { LlamaModel.Step(token: tokens[$0], state: first, wantsLogits: $0 == tokens.count - 1) }
            + shorter.indices.map { LlamaModel.Step(token: shorter[$0], state: second, wantsLogits: $0 == shorter.count - 1) }
        model.forward(steps, scratch: model.makeScratch(tokens: steps.count))
        #expect(Array(first.logits) == alone(tokens))
        #expect(Array(second.logits) == alone(shorter))
        if order == .llamaCpp {
            #expect(Array(first.logits) == reference.logits[tokens.count - 1])
            #expect(Array(second.logits) == reference.logits[shorter.count - 1])
        }
    }
}
