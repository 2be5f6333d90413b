import Foundation
import Testing
@testable import LLMEngine

@Suite struct SamplerTests {
    /// Logits with a clear favourite (token 3) and a spread of others.
    func logits() -> [Float] { [1.0, 2.0, 0.5, 4.0, 3.5, -1.0, 2.5, 0.0] }

    func draw(_ parameters: SamplingParameters, count: Int = 50) -> [Int32] {
        var sampler = Sampler(parameters)
        return (0..<count).map { _ in
            var values = logits()
            return values.withUnsafeMutableBufferPointer { sampler.sample($0) }
        }
    }

    @Test func temperatureZeroIsGreedy() {
        #expect(draw(SamplingParameters(temperature: 0)) == Array(repeating: 3, count: 50))
    }

    @Test func aSeedRepeatsAndAnotherSeedDiffers() {
        let first = draw(SamplingParameters(temperature: 1, seed: 42))
        #expect(draw(SamplingParameters(temperature: 1, seed: 42)) == first)
        #expect(draw(SamplingParameters(temperature: 1, seed: 43)) != first)
        #expect(Set(first).count > 2, "temperature 1 spreads over several tokens")
    }

    @Test func topKAndTopPNarrowTheChoice() {
        #expect(Set(draw(SamplingParameters(temperature: 5, topK: 2, seed: 1))).isSubset(of: [3, 4]))
        #expect(draw(SamplingParameters(temperature: 1, topK: 1, seed: 1)) == Array(repeating: 3, count: 50))
        // Token 3 alone carries well over 10% of the probability.
        #expect(draw(SamplingParameters(temperature: 1, topP: 0.1, seed: 1)) == Array(repeating: 3, count: 50))
    }

    /// How often each token comes up in `count` draws from `logits`.
    func frequencies(_ logits: [Float], _ parameters: SamplingParameters, count: Int) -> [Int32: Int] {
        var sampler = Sampler(parameters)
        var seen: [Int32: Int] = [:]
        for _ in 0..<count {
            var values = logits
            seen[values.withUnsafeMutableBufferPointer { sampler.sample($0) }, default: 0] += 1
        }
        return seen
    }

    @Test func drawsFollowTheSoftmaxOfTheLogitsOverTheTemperature() {
        let logits: [Float] = [0, 1, 2, 0.5, -1, 1.5]
        for temperature: Float in [0.5, 1, 2] {
            let seen = frequencies(logits, SamplingParameters(temperature: temperature, seed: 3), count: 20_000)
            let weights = logits.map { Foundation.exp(Double($0 / temperature)) }
            let total = weights.reduce(0, +)
            for (token, weight) in weights.enumerated() {
                let share = Double(seen[Int32(token), default: 0]) / 20_000
                #expect(abs(share - weight / total) < 0.015, "token \(token) at T \(temperature): \(share) vs \(weight / total)")
            }
        }
    }

    @Test func topPKeepsTheSmallestHeadThatHoldsP() {
        // Probabilities 0.5, 0.3, 0.15, 0.05 (in shuffled positions).
        let logits = [0.15, 0.5, 0.05, 0.3].map { Float(Foundation.log($0)) }
        #expect(Set(frequencies(logits, SamplingParameters(temperature: 1, topP: 0.79, seed: 5), count: 2000).keys) == [1, 3])
        #expect(Set(frequencies(logits, SamplingParameters(temperature: 1, topP: 0.81, seed: 5), count: 2000).keys) == [1, 3, 0])
        #expect(Set(frequencies(logits, SamplingParameters(temperature: 1, topP: 0.5, seed: 5), count: 2000).keys) == [1])
    }

    @Test func topKTakesTheFirstOfEqualLogits() {
        let logits: [Float] = [1, 3, 2, 3, 2, 3]
        #expect(Set(frequencies(logits, SamplingParameters(temperature: 1, topK: 2, seed: 9), count: 500).keys) == [1, 3])
        #expect(Set(frequencies(logits, SamplingParameters(temperature: 1, topK: 4, seed: 9), count: 2000).keys) == [1, 3, 5, 2])
    }

    /// Over a vocabulary-sized flat spread: every draw inside the nucleus found by sorting all
    /// tokens, and the whole nucleus drawn.
    @Test func aLargeVocabularysNucleusIsTheSortedOne() {
        var generator = SplitMix64(seed: 11)
        let logits = (0..<49_152).map { _ in Float.random(in: -8...0, using: &generator) }
        for (temperature, topP) in [(Float(1), Float(0.02)), (0.3, 0.2)] {
            let order = logits.indices.sorted { logits[$0] > logits[$1] }
            let weights = order.map { Foundation.exp(Double((logits[$0] - logits[order[0]]) / temperature)) }
            let total = weights.reduce(0, +)
            var nucleus: Set<Int32> = [], cumulative = 0.0
            for (rank, index) in order.enumerated() where cumulative < Double(topP) * total {
                cumulative += weights[rank]
                nucleus.insert(Int32(index))
            }
            let drawn = Set(frequencies(logits, SamplingParameters(temperature: temperature, topP: topP, seed: 2),
                                        count: 40 * nucleus.count).keys)
            #expect(drawn.isSubset(of: nucleus))
            #expect(drawn.count >= nucleus.count * 9 / 10, "\(drawn.count) of the nucleus's \(nucleus.count) drawn")
        }
    }

    @Test func penaltiesPushSeenTokensDown() {
        var sampler = Sampler(SamplingParameters(temperature: 0, repetitionPenalty: 2))
        sampler.accept(3)
        var values = logits()
        #expect(values.withUnsafeMutableBufferPointer { sampler.sample($0) } == 4, "4.0 / 2 falls below 3.5")
        #expect(values[3] == 2)

        var additive = Sampler(SamplingParameters(temperature: 0, presencePenalty: 0.3, frequencyPenalty: 0.2))
        additive.accept(3)
        additive.accept(3)
        values = logits()
        _ = values.withUnsafeMutableBufferPointer { additive.sample($0) }
        #expect(abs(values[3] - (4.0 - 0.3 - 0.4)) < 1e-6, "OpenAI's form: presence once, frequency per occurrence")
    }
}

@Suite struct StopSequenceFilterTests {
    @Test func aStopSplitAcrossTokensIsCaughtAndNotShown() {
        var filter = StopSequenceFilter(stops: ["END"])
        #expect(filter.append("Hel") == ("Hel", false))
        #expect(filter.append("lo E") == ("lo ", false), "'E' could begin 'END', so it waits")
        #expect(filter.append("N") == ("", false))
        #expect(filter.append("D and more") == ("", true))
    }

    @Test func heldTextIsReleasedWhenItCannotBeAStop() {
        var filter = StopSequenceFilter(stops: ["</s>", "\n\n"])
        #expect(filter.append("a<") == ("a", false))
        #expect(filter.append("b") == ("<b", false))
        #expect(filter.append("\n") == ("", false))
        #expect(filter.append("x") == ("\nx", false))
        #expect(filter.append("y\n\nz") == ("y", true))
    }

    @Test func theEarliestStopWins() {
        var filter = StopSequenceFilter(stops: ["world", "lo"])
        #expect(filter.append("hello world") == ("hel", true))
    }
}

/// Generation on the real default model, run on its own thread as the server does.
@Suite(.serialized) struct TextGeneratorTests {
    static let model = GenerationReferenceTests.model

    func generate(_ request: GenerationRequest) async throws -> (String, GenerationResult) {
        let model = try #require(Self.model, "the default model is needed; `make test` fetches it")
        return await withCheckedContinuation { continuation in
            Thread {
                let state = model.makeState(capacity: 512)
                var text = ""
                let result = model.generate(request, state: state) { text += $0 }
                continuation.resume(returning: (text, result))
            }.start()
        }
    }

    var prompt: [Int32] {
        GenerationReferenceTests.cases[1].promptIDs
    }

    @Test func maxTokensEndsWithLengthAndCountsExactly() async throws {
        let (text, result) = try await generate(GenerationRequest(promptTokens: prompt, maxTokens: 6, sampling: .init()))
        #expect(result.finishReason == .length)
        #expect(result.completionTokens == 6)
        #expect(result.promptTokens == prompt.count)
        let model = try #require(Self.model)
        #expect(model.tokenizer.encode(text).count <= 6)
        #expect(!text.isEmpty)
    }

    @Test func aStopSequenceCutsTheTextBeforeIt() async throws {
        let (full, _) = try await generate(GenerationRequest(promptTokens: prompt, maxTokens: 16, sampling: .init()))
        let words = full.split(separator: " ")
        try #require(words.count > 3, "\(full)")
        let stop = " " + String(words[2])
        let (cut, result) = try await generate(
            GenerationRequest(promptTokens: prompt, maxTokens: 16, sampling: .init(), stopSequences: [stop]))
        #expect(result.finishReason == .stop)
        #expect(cut == String(full[..<full.range(of: stop)!.lowerBound]))
    }

    @Test func theSameSeedGivesTheSameText() async throws {
        let sampling = SamplingParameters(temperature: 0.9, topK: 40, topP: 0.95, seed: 7)
        let (first, _) = try await generate(GenerationRequest(promptTokens: prompt, maxTokens: 12, sampling: sampling))
        let (second, _) = try await generate(GenerationRequest(promptTokens: prompt, maxTokens: 12, sampling: sampling))
        #expect(first == second)
    }
}
