import Foundation
import Testing
@testable import LLMEngine

/// Gemma 3 270M (Q4_K_M, the real file `make model` fetches) against llama.cpp: its tokenizer's
/// ids, and after each base-model prompt — one of 785 tokens, past the 512-position sliding window
/// — the largest logits and the greedy continuation. Golden values in
/// Reference/gemma3-reference.json (scripts/reference/gemma3_reference.py).
@Suite(.serialized) struct Gemma3ReferenceTests {
    struct Case: Sendable, CustomStringConvertible {
        var prompt: String
        var promptIDs: [Int32]
        var greedy: [Int32]
        var topLogits: [(token: Int32, logit: Float)]
        var description: String { String(prompt.prefix(40)).debugDescription }
    }

    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = Bundle.module.url(forResource: "gemma3-reference", withExtension: "json", subdirectory: "Reference")!
        return try! JSONSerialization.jsonObject(with: Data(contentsOf: url)) as! [String: Any]
    }()

    static let cases: [Case] = (reference["cases"] as! [[String: Any]]).map {
        Case(prompt: $0["prompt"] as! String, promptIDs: ($0["prompt_ids"] as! [Int]).map(Int32.init),
             greedy: ($0["greedy"] as! [Int]).map(Int32.init),
             topLogits: ($0["top_logits"] as! [[String: Any]]).map { (Int32($0["token"] as! Int), Float($0["logit"] as! Double)) })
    }

    static let path = URL(fileURLWithPath: GGUFReferenceTests.modelPath).deletingLastPathComponent()
        .appendingPathComponent("gemma-3-270m.Q4_K_M.gguf").path
    static let models: [ProductOrder: LlamaModel] = {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        var models: [ProductOrder: LlamaModel] = [:]
        for order in ProductOrder.allCases { models[order] = try? LlamaModel(path: path, order: order) }
        return models
    }()

    func model(_ order: ProductOrder) throws -> LlamaModel {
        try #require(Self.models[order], "Gemma 3 270M is needed at \(Self.path); `make model` fetches it")
    }

    @Test func theShapeIsReadFromTheFile() throws {
        let config = try model(.blockwise).config
        #expect(config.architecture == .gemma3)
        #expect(config.layerCount == 18 && config.embeddingLength == 640 && config.feedForwardLength == 2048)
        #expect(config.headCount == 4 && config.kvHeadCount == 1 && config.headDimension == 256)
        #expect(config.vocabularySize == 262_144)
        // Five sliding-window layers (RoPE base 10,000) for each global one (the file's 1,000,000).
        #expect(config.layers.map(\.window) == (0..<18).map { $0 % 6 == 5 ? nil : 512 })
        #expect(config.layers.map { config.rotations[$0.rotation].base } == (0..<18).map { $0 % 6 == 5 ? 1e6 : 1e4 })
    }

    @Test func textIsTokenizedAsLlamaCppDoes() throws {
        let tokenizer = try model(.blockwise).tokenizer
        for entry in Self.reference["tokenized"] as! [[String: Any]] {
            let text = entry["text"] as! String
            #expect(tokenizer.promptTokens(text, limit: .max) == (entry["ids"] as! [Int]).map(Int32.init), "\(text.debugDescription)")
        }
        // Plain text: runs of spaces (user-defined tokens) still whole tokens, control tokens text.
        for entry in Self.reference["plain"] as! [[String: Any]] {
            let text = entry["text"] as! String
            #expect(tokenizer.encode(text) == (entry["ids"] as! [Int]).map(Int32.init), "\(text.prefix(40).debugDescription)")
        }
    }

    /// Runs the prompt through the model as one batch, on a thread of its own (seconds of
    /// arithmetic kept off Swift's cooperative pool), then along llama.cpp's greedy tokens: the
    /// logits after the prompt, at how many steps this model's best is llama.cpp's choice, and how
    /// far below this model's best llama.cpp's choice ever was.
    func run(_ model: LlamaModel, _ reference: Case) async -> (logits: [Float], agreed: Int, shortfall: Float) {
        await withCheckedContinuation { continuation in
            Thread {
                let state = model.makeState(capacity: 1024), ids = reference.promptIDs
                model.forward(ids.indices.map { LlamaModel.Step(token: ids[$0], state: state, wantsLogits: $0 == ids.count - 1) },
                              scratch: model.makeScratch(tokens: ids.count))
                let logits = Array(state.logits)
                var agreed = 0, shortfall: Float = 0
                for token in reference.greedy {
                    let best = llmkArgmax(state.logits)
                    if best == Int(token) { agreed += 1 }
                    shortfall = max(shortfall, state.logits[best] - state.logits[Int(token)])
                    model.forward(token: token, state: state)
                }
                continuation.resume(returning: (logits, agreed, shortfall))
            }.start()
        }
    }

    /// In llama.cpp's order, llama.cpp's bits: the largest logits exactly its, and its greedy text
    /// (its K-quants multiplied as it multiplies them, activations in 8 bits per 256 values). In
    /// the blockwise order — K-quants rewritten for its integer kernels, an 8-bit cache — the same
    /// prompt ids, the largest logits within rounding of llama.cpp's (measured: 0.28–1.05 of logits
    /// near 20), and along llama.cpp's greedy text its choice within rounding of this model's best,
    /// and the same choice nearly always: this base model's best two tokens are often closer than
    /// that rounding, so its own greedy text may part from llama.cpp's.
    @Test(arguments: cases, ProductOrder.allCases)
    func logitsFollowLlamaCppAlongItsGreedyText(_ reference: Case, order: ProductOrder) async throws {
        let model = try model(order)
        #expect(model.tokenizer.promptTokens(reference.prompt, limit: .max) == reference.promptIDs)
        let (logits, agreed, shortfall) = await run(model, reference)
        var worst: Float = 0
        for (token, logit) in reference.topLogits { worst = max(worst, abs(logits[Int(token)] - logit)) }
        if order == .llamaCpp {
            // llama.cpp's arithmetic to the bit: its logits, and its greedy text token for token.
            #expect(worst == 0, "largest logit difference \(worst)")
            #expect(agreed == reference.greedy.count, "the same choice at \(agreed) of \(reference.greedy.count) steps")
        }
        #expect(worst <= 1.25, "largest logit difference \(worst)")
        #expect(shortfall <= 0.75, "llama.cpp's token was \(shortfall) below this model's best")
        #expect(agreed * 10 >= reference.greedy.count * 9, "the same choice at \(agreed) of \(reference.greedy.count) steps")
    }
}

private func llmkArgmax(_ values: UnsafeMutableBufferPointer<Float>) -> Int {
    var best = 0
    for index in values.indices where values[index] > values[best] { best = index }
    return best
}
