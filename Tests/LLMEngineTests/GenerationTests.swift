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
