import Foundation
import LLMKernels

/// Picks tokens: penalties on what was already generated, then greedy at temperature 0, else
/// temperature, top-k and top-p over a seeded generator, so a seed gives the same text again.
/// A vocabulary is tens of thousands of tokens and this runs for every token of every sequence,
/// so nothing sorts the whole vocabulary: sorting it cost more than the forward pass.
public struct Sampler: Sendable {
    public let parameters: SamplingParameters
    private var random: SplitMix64
    private var counts: [Int32: Int] = [:]
    /// Each token's weight in the last draw, and the sort keys of its head: kept to spare two
    /// vocabulary-sized allocations per token.
    private var weights: [Float] = []
    private var keys: [UInt64] = []

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
        let best = Self.argmax(logits)
        if parameters.temperature <= 0 || logits.count < 2 { return Int32(best) }

        // Each token's weight exp((logit − best) / T): the best's is 1.
        if weights.count < logits.count { weights = [Float](repeating: 0, count: logits.count) }
        let count = Int32(logits.count)
        let total = llmk_softmax_weights(logits.baseAddress!, count, logits[best], 1 / parameters.temperature, &weights)
        let topK = parameters.topK > 0 && parameters.topK < logits.count ? parameters.topK : 0
        if topK == 0 && parameters.topP >= 1 {
            // Every token stays: a draw in the tokens' own order has the same odds as in sorted order.
            return llmk_draw(weights, count, random.nextUnitDouble() * total)
        }

        // Top-k and top-p keep the head of the tokens sorted by weight, so only a head is sorted:
        // the tokens of weight at least 2^−e for the smallest e (found by halving) at which they are
        // k tokens, or hold the share p of all the weight.
        func enough(_ e: Int) -> Bool {
            var held: Int32 = 0
            let mass = llmk_weight_at_least(weights, count, Float(sign: .plus, exponent: -e, significand: 1), &held)
            return topK > 0 ? Int(held) >= topK : mass >= Double(parameters.topP) * total
        }
        // Weights are at least e^−80 > 2^−127, so enough(127) holds; the cut is rarely below 2^−32.
        var low = 0, high = enough(32) ? 32 : 127
        while low < high {
            let middle = (low + high) / 2
            if enough(middle) { high = middle } else { low = middle + 1 }
        }
        if keys.count < logits.count { keys = [UInt64](repeating: 0, count: logits.count) }
        let found = Int(llmk_keys_at_least(weights, count, Float(sign: .plus, exponent: -low, significand: 1), &keys))
        keys[..<found].sort(by: >)
        var head = keys[..<(topK > 0 ? min(topK, found) : found)].map {
            Int32(bitPattern: UInt32.max - UInt32(truncatingIfNeeded: $0))  // the key's index part
        }
        // The head's weight: after top-k the share p is of what top-k kept.
        var kept = topK > 0 ? head.reduce(0.0) { $0 + Double(weights[Int($1)]) } : total
        if parameters.topP < 1 {
            var cumulative = 0.0
            for (index, token) in head.enumerated() {
                cumulative += Double(weights[Int(token)])
                if cumulative >= Double(parameters.topP) * kept {
                    head.removeSubrange((index + 1)...)
                    break
                }
            }
            kept = cumulative
        }
        let threshold = random.nextUnitDouble() * kept
        var cumulative = 0.0
        for token in head {
            cumulative += Double(weights[Int(token)])
            if cumulative >= threshold { return token }
        }
        return head[head.count - 1]
    }

    /// The first index of the largest value: a vocabulary-sized scan per token per sequence, on
    /// the scheduler's thread while the compute threads wait, so in vector lanes.
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
