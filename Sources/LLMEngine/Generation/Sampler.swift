import Foundation
import LLMKernels

/// Picks tokens: penalties on what was already generated, then greedy at temperature 0, else
/// temperature, top-k and top-p over a seeded generator, so a seed gives the same text again.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SplitMix64
    private var counts: [Int32: Int] = [:]

    public init(_ parameters: SamplingParameters) {
        self.parameters = parameters
        random = SplitMix64(seed: parameters.seed)
    }

    /// Remembers a generated token for the penalties.
    public mutating func accept(_ token: Int32) {
        counts[token, default: 0] += 1
    }

    public mutating func sample(_ logits: UnsafeMutableBufferPointer<Float>) -> Int32 {
        for (token, count) in counts {
            let index = Int(token)
            guard index < logits.count else { continue }
            if parameters.repetitionPenalty != 1 {
                logits[index] = logits[index] > 0
                    ? logits[index] / parameters.repetitionPenalty : logits[index] * parameters.repetitionPenalty
            }
            logits[index] -= parameters.presencePenalty + parameters.frequencyPenalty * Float(count)
        }
        if parameters.temperature <= 0 { return Int32(Self.argmax(logits)) }

        var candidates = (0..<logits.count).map { (token: $0, logit: logits[$0]) }
        candidates.sort { $0.logit > $1.logit }
        if parameters.topK > 0 && parameters.topK < candidates.count {
            candidates.removeSubrange(parameters.topK...)
        }
        let maximum = candidates[0].logit
        var probabilities = candidates.map { exp(Double(($0.logit - maximum) / parameters.temperature)) }
        let total = probabilities.reduce(0, +)
        for index in probabilities.indices { probabilities[index] /= total }
        if parameters.topP < 1 {
            var cumulative = 0.0
            var keep = probabilities.count
            for (index, probability) in probabilities.enumerated() {
                cumulative += probability
                if cumulative >= Double(parameters.topP) {
                    keep = index + 1
                    break
                }
            }
            probabilities.removeSubrange(keep...)
            candidates.removeSubrange(keep...)
        }
        let threshold = random.nextUnitDouble() * probabilities.reduce(0, +)
        var cumulative = 0.0
        for (index, probability) in probabilities.enumerated() {
            cumulative += probability
            if cumulative >= threshold { return Int32(candidates[index].token) }
        }
        return Int32(candidates[candidates.count - 1].token)
    }

    /// The first index of the largest value: a vocabulary-sized scan per token per sequence, on
    /// the scheduler's thread while the compute threads wait, so in vector lanes (one value at a
    /// time it cost eight sequences 0.1 ms a step).
    static func argmax(_ values: UnsafeMutableBufferPointer<Float>) -> Int {
        guard let base = values.baseAddress else { return 0 }
        return Int(llmk_argmax(base, Int32(values.count)))
    }
}

/// A small, fast, seedable generator (Steele, Lea and Flood's SplitMix64): the same seed gives
/// the same sequence on every platform, which `SystemRandomNumberGenerator` cannot.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextUnitDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }
}
