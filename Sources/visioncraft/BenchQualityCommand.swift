import ArgumentParser
import Foundation
import LLMEngine

/// `make bench-quality`'s half on our side: the model's perplexity over a text, by llama.cpp's
/// `llama-perplexity` method — the text's tokens (BOS first where the vocabulary adds one) cut into
/// chunks of the context size, each chunk evaluated from an empty cache (its first token BOS where
/// the vocabulary adds one), and each token of the chunk's second half scored by the logits of the
/// position before it. Perplexity is e to the mean negative log-likelihood.
///
/// The first half and the first scored position go through a prefill, the rest a token at a time:
/// the two paths a served request takes (its prompt, then its answer), in the chosen product order.
struct BenchQualityCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-quality", abstract: "Measure the embedded engine's perplexity over a text.",
        shouldDisplay: false)

    @Option(help: "GGUF model file.") var model: String
    @Option(help: "The text (UTF-8).") var text: String
    @Option(help: "Tokens per chunk (llama-perplexity's -c).") var context: Int = 512
    @Option(help: "At most this many chunks (default: all the text holds).") var chunks: Int?
    @Option(help: "Compute threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "How matrix products add up: blockwise (the server's default) or llama-cpp.")
    var productOrder: ProductOrder = .blockwise

    func run() async throws {
        let model = try LlamaModel(path: model, threads: threads, order: productOrder)
        let tokenizer = model.tokenizer
        let bos = tokenizer.addsBOS ? tokenizer.bos : nil
        let tokens = (bos.map { [$0] } ?? []) + tokenizer.encode(try String(contentsOfFile: text, encoding: .utf8))
        let count = min(tokens.count / context, chunks ?? .max)
        guard count > 0 else { throw ValidationError("The text holds \(tokens.count) tokens, less than one chunk.") }
        let first = context / 2
        let state = model.makeState(capacity: context)
        let scratch = model.makeScratch(tokens: LlamaModel.promptChunk)
        var negativeLogLikelihood = 0.0
        var scored = 0
        let started = ContinuousClock.now
        for index in 0..<count {
            var chunk = Array(tokens[index * context..<(index + 1) * context])
            if let bos { chunk[0] = bos }
            state.reset()
            model.prefill(Array(chunk[...first]), state: state, scratch: scratch)
            for position in first..<(context - 1) {
                if position > first { model.forward(token: chunk[position], state: state) }
                negativeLogLikelihood -= Self.logProbability(of: chunk[position + 1], in: state.logits)
                scored += 1
            }
            let perplexity = exp(negativeLogLikelihood / Double(scored))
            FileHandle.standardError.write(Data("[\(index + 1)/\(count)] \(String(format: "%.4f", perplexity))\n".utf8))
        }
        let seconds = Double((ContinuousClock.now - started).components.seconds)
        print(String(format: "visioncraft (%@): perplexity %.4f over %d tokens (%d chunks of %d) in %.0f s",
                     productOrder.rawValue, exp(negativeLogLikelihood / Double(scored)), scored, count, context, seconds))
    }

    /// log softmax(logits)[token], in doubles.
    static func logProbability(of token: Int32, in logits: UnsafeMutableBufferPointer<Float>) -> Double {
        let maximum = Double(logits.max() ?? 0)
        var sum = 0.0
        for logit in logits { sum += exp(Double(logit) - maximum) }
        return Double(logits[Int(token)]) - maximum - log(sum)
    }
}
