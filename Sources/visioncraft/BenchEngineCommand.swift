import ArgumentParser
import Foundation
import LLMEngine

extension ProductOrder: ExpressibleByArgument {}

/// `make bench-engine`'s half on our side: prefill and decode speed of the embedded engine, and
/// the aggregate decode speed of several sequences sharing forward passes.
struct BenchEngineCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-engine", abstract: "Measure the embedded engine's prefill and decode speed.",
        shouldDisplay: false)

    @Option(help: "GGUF model file.") var model: String
    @Option(help: "Prompt tokens to prefill.") var promptTokens: Int = 128
    @Option(help: "Tokens to decode.") var decodeTokens: Int = 128
    @Option(help: "Compute threads.") var threads: Int = ProcessInfo.processInfo.activeProcessorCount
    @Option(help: "Concurrent streams to measure aggregate decode with, comma-separated.") var streams: String = "1,4,8"
    @Option(help: "Runs of each measurement; the best is shown, as a shared machine only ever slows a run down.")
    var repeats: Int = 5
    @Option(help: "How matrix products add up: blockwise (the server's default) or llama-cpp.")
    var productOrder: ProductOrder = .blockwise

    func run() async throws {
        let model = try LlamaModel(path: model, threads: threads, order: productOrder)
        // The sentence is ten tokens: repeated enough for any prompt length asked (8,000 for long prompts).
        let sentence = "The quick brown fox jumps over the lazy dog. "
        let prompt = Array(model.tokenizer.encode(String(repeating: sentence, count: max(64, promptTokens / 8 + 1)))
            .prefix(promptTokens))
        let capacity = promptTokens + decodeTokens + 1
        let scratch = model.makeScratch(tokens: 64)

        // One sequence with the server's default context, to show the memory it really costs.
        let state = model.makeState(capacity: max(capacity, 2048))
        var prefill = Duration.seconds(1_000_000), decode = Duration.seconds(1_000_000)
        for _ in 0..<max(1, repeats) {
            state.reset()
            prefill = min(prefill, Self.measure { model.prefill(prompt, state: state, scratch: scratch) })
            var sampler = Sampler(SamplingParameters())
            decode = min(decode, Self.measure {
                for _ in 0..<decodeTokens {
                    model.forward(token: sampler.sample(state.logits), state: state)
                }
            })
        }
        print("visioncraft product_order=\(productOrder.rawValue) threads=\(threads) prefill_tokens_per_s=\(Self.rate(prompt.count, prefill)) decode_tokens_per_s=\(Self.rate(decodeTokens, decode))")
        let modelMegabytes = Double((try? FileManager.default.attributesOfItem(atPath: self.model)[.size] as? Int) ?? 0) / 1_048_576
        print("visioncraft one_stream_2048_context peak_rss_mb=\(Self.peakResidentMegabytes()) model_file_mb=\(String(format: "%.0f", modelMegabytes))")

        // Every stream count once per round, the rounds one after another: a slow spell of a
        // shared machine then falls on all of them alike, not on one count's runs.
        let counts = streams.split(separator: ",").compactMap { Int($0) }.filter { $0 > 0 }
        let runs = counts.map { count in
            (count: count, states: (0..<count).map { _ in model.makeState(capacity: capacity) },
             scratch: model.makeScratch(tokens: max(64, count)))
        }
        var best = [Duration](repeating: .seconds(1_000_000), count: runs.count)
        for _ in 0..<max(1, repeats) {
            for (index, run) in runs.enumerated() {
                best[index] = min(best[index], Self.decodeTogether(model, states: run.states, scratch: run.scratch,
                                                                   prompt: prompt, tokens: decodeTokens))
            }
        }
        for (index, run) in runs.enumerated() {
            print("visioncraft streams=\(run.count) aggregate_decode_tokens_per_s=\(Self.rate(run.count * decodeTokens, best[index]))")
        }
        // The batching goal's figure: the most streams' aggregate against one stream's.
        if let one = runs.firstIndex(where: { $0.count == 1 }),
           let most = runs.indices.max(by: { runs[$0].count < runs[$1].count }), runs[most].count > 1 {
            let ratio = Double(runs[most].count) * (best[one] / best[most])
            print("visioncraft streams=\(runs[most].count)_vs_1 aggregate_ratio=\(String(format: "%.2f", ratio))")
        }
        print("visioncraft all_streams peak_rss_mb=\(Self.peakResidentMegabytes())")

        // The same streams through the server's scheduler (continuous batching, answers decoded
        // to text, handed over per token), without HTTP: the layer between the two figures above
        // and what `bench/engine/api_stream.py` reads through the API.
        for count in counts where count > 1 {
            var best = 0.0
            for _ in 0..<max(1, repeats) {
                best = max(best, await Self.throughScheduler(model, streams: count, prompt: prompt, tokens: decodeTokens))
            }
            print("visioncraft scheduler streams=\(count) aggregate_decode_tokens_per_s=\(String(format: "%.1f", best))")
        }
    }

    /// Tokens per second while every one of `streams` generations decodes, counted from the
    /// scheduler's own hand-overs (its `onText`, one piece per token here).
    static func throughScheduler(_ model: LlamaModel, streams: Int, prompt: [BPETokenizer.Token], tokens: Int) async -> Double {
        let scheduler = GenerationScheduler(model: model, slots: streams, contextLength: prompt.count + tokens + 1)
        let arrivals = (0..<streams).map { _ in Arrivals() }
        await withTaskGroup(of: Void.self) { group in
            for stream in 0..<streams {
                group.addTask {
                    await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
                        scheduler.submit(
                            GenerationRequest(promptTokens: prompt, maxTokens: tokens, sampling: SamplingParameters()),
                            onText: { _ in arrivals[stream].add() }, onFinish: { _ in done.resume() })
                    }
                }
            }
        }
        let times = arrivals.map(\.times).filter { $0.count > 1 }
        guard times.count == streams else { return 0 }
        let start = times.map { $0[0] }.max()!, end = times.map { $0[$0.count - 1] }.min()!
        guard end > start else { return 0 }
        var inside = -streams
        for stream in times { inside += stream.filter { $0 >= start && $0 <= end }.count }
        let (seconds, attoseconds) = (end - start).components
        return Double(inside) / (Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// When each text piece of one generation arrived.
    final class Arrivals: @unchecked Sendable {
        // @unchecked: `lock` guards `list`.
        private let lock = NSLock()
        private var list: [ContinuousClock.Instant] = []
        func add() { lock.withLock { list.append(.now) } }
        var times: [ContinuousClock.Instant] { lock.withLock { list } }
    }

    /// Prefills every state with `prompt`, then times `tokens` steps in which all of them decode
    /// together, each sequence's token picked on the compute threads as the server's scheduler does.
    static func decodeTogether(
        _ model: LlamaModel, states: [LlamaState], scratch: ForwardScratch, prompt: [BPETokenizer.Token], tokens: Int
    ) -> Duration {
        for state in states {
            state.reset()
            model.prefill(prompt, state: state, scratch: scratch)
        }
        var samplers = states.map { _ in Sampler(SamplingParameters()) }
        var next = [Int32](repeating: 0, count: states.count)
        return measure {
            for _ in 0..<tokens {
                samplers.withUnsafeMutableBufferPointer { samplers in
                    next.withUnsafeMutableBufferPointer { next in
                        model.pool.runShared(states.count) { _, items in
                            for index in items { next[index] = samplers[index].sample(states[index].logits) }
                        }
                    }
                }
                model.forward(states.indices.map { LlamaModel.Step(token: next[$0], state: states[$0], wantsLogits: true) },
                              scratch: scratch)
            }
        }
    }

    static func measure(_ body: () -> Void) -> Duration {
        let start = ContinuousClock.now
        body()
        return ContinuousClock.now - start
    }

    static func rate(_ count: Int, _ duration: Duration) -> String {
        String(format: "%.1f", Double(count) / (Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18))
    }

    /// VmHWM from /proc/self/status: the most memory this process has held at once.
    static func peakResidentMegabytes() -> String { BenchImageCommand.residentMegabytes("VmHWM:") }
}
