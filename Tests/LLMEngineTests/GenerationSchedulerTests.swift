import Foundation
import Synchronization
import Testing
@testable import LLMEngine

/// Continuous batching on the real default model: sequences that share forward passes produce
/// exactly what each produces alone, a cancelled one frees its slot, and waiting ones get it.
@Suite(.serialized) struct GenerationSchedulerTests {
    static let model = GenerationReferenceTests.model

    /// Collects what the scheduler hands back for one request.
    final class Collector: Sendable {
        let text = Mutex("")
        let result = Mutex<GenerationResult?>(nil)
        let firstText = Mutex<(@Sendable () -> Void)?>(nil)
        private let done: AsyncStream<GenerationResult>
        private let finish: AsyncStream<GenerationResult>.Continuation

        init() {
            (done, finish) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        }

        func submit(_ request: GenerationRequest, to scheduler: GenerationScheduler) -> GenerationHandle {
            scheduler.submit(request, onText: { piece in
                self.text.withLock { $0 += piece }
                self.firstText.withLock { callback in
                    callback?()
                    callback = nil
                }
            }, onFinish: { result in
                self.result.withLock { $0 = result }
                self.finish.yield(result)
                self.finish.finish()
            })
        }

        /// The outcome, as soon as the scheduler hands it over.
        func finished() async -> GenerationResult? {
            var results = done.makeAsyncIterator()
            return await results.next()
        }
    }

    /// The one-at-a-time generator, on a thread of its own.
    func solo(_ request: GenerationRequest, _ model: LlamaModel) async -> (String, GenerationResult) {
        await withCheckedContinuation { continuation in
            Thread {
                var text = ""
                let result = model.generate(request, state: model.makeState(capacity: 512)) { text += $0 }
                continuation.resume(returning: (text, result))
            }.start()
        }
    }

    var requests: [GenerationRequest] {
        let prompts = GenerationReferenceTests.cases.map(\.promptIDs)
        return (0..<8).map { index in
            // Different prompts, lengths and limits, one sampled with a seed, one with a stop.
            GenerationRequest(
                promptTokens: prompts[index % prompts.count], maxTokens: 24 + 3 * index,
                sampling: index == 5 ? SamplingParameters(temperature: 0.8, topK: 40, topP: 0.9, seed: 11) : .init(),
                stopSequences: index == 6 ? ["."] : [])
        }
    }

    @Test func eightSequencesTogetherGiveWhatEachGivesAlone() async throws {
        let model = try #require(Self.model, "the default model is needed; `make test` fetches it")
        var expected: [(String, GenerationResult)] = []
        for request in requests { expected.append(await solo(request, model)) }

        let scheduler = GenerationScheduler(model: model, slots: 8, contextLength: 512)
        let collectors = requests.map { _ in Collector() }
        for (request, collector) in zip(requests, collectors) { _ = collector.submit(request, to: scheduler) }
        for (index, collector) in collectors.enumerated() {
            let result = try #require(await collector.finished())
            #expect(collector.text.withLock { $0 } == expected[index].0, "request \(index)")
            #expect(result == expected[index].1, "request \(index)")
        }
        #expect(scheduler.load == 0)
    }

    /// The prefix cache: a prompt that starts as an earlier one did (here SmolLM2's system turn)
    /// finds that start in the slot the earlier one left, computes only the rest, and answers what
    /// it answers alone; a conversation that goes on (the earlier prompt and its answer, then a new
    /// turn) finds all of it — kept, because the second prompt's start was copied into another slot.
    /// In both orders: the half-precision cache and the 8-bit one.
    @Test(arguments: ProductOrder.allCases)
    func aPromptStartingAsAnEarlierOneReusesItsCacheAndAnswersTheSame(_ order: ProductOrder) async throws {
        let model = try #require(order == .llamaCpp ? Self.model : GenerationReferenceTests.blockwiseModel)
        let scheduler = GenerationScheduler(model: model, slots: 2, contextLength: 512)
        let first = GenerationRequest(promptTokens: GenerationReferenceTests.cases[0].promptIDs, maxTokens: 12, sampling: .init())
        let earlier = Collector()
        _ = earlier.submit(first, to: scheduler)
        let firstResult = try #require(await earlier.finished())
        #expect(firstResult.cachedPromptTokens == 0)

        let second = GenerationRequest(promptTokens: GenerationReferenceTests.cases[2].promptIDs, maxTokens: 12, sampling: .init())
        let shared = zip(first.promptTokens, second.promptTokens).prefix { $0 == $1 }.count
        #expect(shared > 20, "the two prompts share SmolLM2's system turn")
        let later = Collector()
        _ = later.submit(second, to: scheduler)
        var result = try #require(await later.finished())
        #expect(result.cachedPromptTokens == shared)
        let alone = await solo(second, model)
        #expect(later.text.withLock { $0 } == alone.0)
        result.cachedPromptTokens = 0
        #expect(result == alone.1)

        // The first conversation goes on: its prompt, its answer (all but the last token chosen
        // went through the model), a new turn.
        let answer = model.tokenizer.encode(earlier.text.withLock { $0 })
        let followUp = GenerationRequest(promptTokens: first.promptTokens + answer + second.promptTokens.suffix(from: shared),
                                         maxTokens: 8, sampling: .init())
        let next = Collector()
        _ = next.submit(followUp, to: scheduler)
        let followed = try #require(await next.finished())
        #expect(followed.cachedPromptTokens >= first.promptTokens.count + answer.count - 1)
        let followUpAlone = await solo(followUp, model)
        #expect(next.text.withLock { $0 } == followUpAlone.0)
    }

    @Test func aPausedSequenceWaitsInItsSlotWhileOthersFinishThenGoesOnUnchanged() async throws {
        let model = try #require(Self.model)
        let long = GenerationRequest(promptTokens: GenerationReferenceTests.cases[2].promptIDs, maxTokens: 40, sampling: .init())
        let short = GenerationRequest(promptTokens: GenerationReferenceTests.cases[0].promptIDs, maxTokens: 10, sampling: .init())
        let expected = await solo(long, model)
        let scheduler = GenerationScheduler(model: model, slots: 2, contextLength: 512)
        let paused = Collector(), other = Collector()
        // Paused before its prompt has run: the prompt runs, its first token is chosen, then it waits.
        let handle = paused.submit(long, to: scheduler)
        handle.pause()
        _ = other.submit(short, to: scheduler)
        #expect(try #require(await other.finished()).completionTokens == 10)
        #expect(paused.result.withLock { $0 } == nil, "still waiting while the other finished")
        #expect(scheduler.load == 1)
        handle.resume()
        let result = try #require(await paused.finished())
        #expect(paused.text.withLock { $0 } == expected.0)
        #expect(result == expected.1)
    }

    @Test func aCancelledSequenceFreesItsSlotForOneThatWaits() async throws {
        let model = try #require(Self.model)
        let scheduler = GenerationScheduler(model: model, slots: 2, contextLength: 512)
        let long = GenerationRequest(promptTokens: GenerationReferenceTests.cases[2].promptIDs, maxTokens: 400,
                                     sampling: SamplingParameters(temperature: 1, seed: 3))
        let short = GenerationRequest(promptTokens: GenerationReferenceTests.cases[0].promptIDs, maxTokens: 10, sampling: .init())

        let cancelled = Collector(), running = Collector(), waiting = Collector()
        let handle = cancelled.submit(long, to: scheduler)
        cancelled.firstText.withLock { $0 = { handle.cancel() } }
        _ = running.submit(long, to: scheduler)
        _ = waiting.submit(short, to: scheduler)

        let stopped = try #require(await cancelled.finished())
        #expect(stopped.cancelled)
        #expect(stopped.completionTokens < 400)
        // The waiting request got the freed slot and finished while the long one still runs.
        let third = try #require(await waiting.finished())
        #expect(!third.cancelled && third.completionTokens > 0)
        #expect(waiting.text.withLock { $0 } == (await solo(short, model)).0)
        let second = try #require(await running.finished())
        #expect(!second.cancelled)
        #expect(scheduler.load == 0)
    }
}
