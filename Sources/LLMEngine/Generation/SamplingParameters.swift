/// How the next token is picked from the logits.
public struct SamplingParameters: Sendable, Equatable {
    /// 0 picks the most likely token every time.
    public var temperature: Float
    /// Keep only the k most likely tokens; 0 keeps all.
    public var topK: Int
    /// Keep the most likely tokens whose probabilities add up to p.
    public var topP: Float
    /// Divides positive logits (multiplies negative ones) of tokens already seen; 1 is off.
    public var repetitionPenalty: Float
    /// OpenAI's additive penalties: presence once per seen token, frequency per occurrence.
    public var presencePenalty: Float
    public var frequencyPenalty: Float
    public var seed: UInt64

    public init(
        temperature: Float = 0, topK: Int = 0, topP: Float = 1, repetitionPenalty: Float = 1,
        presencePenalty: Float = 0, frequencyPenalty: Float = 0, seed: UInt64 = 0
    ) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
        self.repetitionPenalty = repetitionPenalty
        self.presencePenalty = presencePenalty
        self.frequencyPenalty = frequencyPenalty
        self.seed = seed
    }
}
