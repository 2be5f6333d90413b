import ArgumentParser
import Foundation
import LLMEngine

/// `make bench-engine`'s half on our side: prefill and decode speed of the embedded engine.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-engine", abstract: "Measure the embedded engine's prefill and decode speed.",
        shouldDisplay: false)

    @Option(help: "GGUF model file.") var model: String
    @Option(help: "Prompt tokens to prefill.") var promptTokens: Int = 128
    @Option(help: "Tokens to decode.") var decodeTokens: Int = 128

    func run() async throws {
        let model = try LlamaModel(path: model)
        let state = model.makeState(capacity: promptTokens + decodeTokens + 1)
        let prompt = Array(model.tokenizer.encode(String(repeating: "The quick brown fox jumps over the lazy dog. ", count: 64))
            .prefix(promptTokens))
        let prefillStart = ContinuousClock.now
        for token in prompt { model.forward(token: token, state: state) }
        let prefill = ContinuousClock.now - prefillStart
        var sampler = Sampler(SamplingParameters())
        let decodeStart = ContinuousClock.now
        for _ in 0..<decodeTokens {
            let token = sampler.sample(state.logits)
            model.forward(token: token, state: state)
        }
        let decode = ContinuousClock.now - decodeStart
        func rate(_ count: Int, _ duration: Duration) -> String {
            String(format: "%.1f", Double(count) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18))
        }
        print("visioncraft prefill_tokens_per_s=\(rate(prompt.count, prefill)) decode_tokens_per_s=\(rate(decodeTokens, decode))")
    }
}
