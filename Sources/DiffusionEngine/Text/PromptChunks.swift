/// A prompt as AUTOMATIC1111 feeds it to CLIP: chunks of 75 tokens, each wrapped in the start and
/// end marks and padded with end marks to 77, every token with its emphasis weight. A chunk that
/// fills up moves the words after its last comma (if that comma is within the last 20 tokens) into
/// the next chunk, so a phrase is not cut in half; `BREAK` ends a chunk early.
public struct PromptChunks: Equatable, Sendable {
    public struct Chunk: Equatable, Sendable {
        public var tokens: [Int32]
        public var weights: [Float]
    }

    public static let tokensPerChunk = 75
    static let commaBacktrack = 20

    public var chunks: [Chunk]

    public init(_ prompt: String, tokenizer: CLIPTokenizer) {
        var chunks: [Chunk] = []
        var tokens: [Int32] = [], weights: [Float] = []
        var lastComma = -1
        let comma = tokenizer.commaToken
        func close() {
            let padding = Self.tokensPerChunk - tokens.count
            if padding > 0 {
                tokens += Array(repeating: CLIPTokenizer.endOfText, count: padding)
                weights += Array(repeating: 1, count: padding)
            }
            chunks.append(Chunk(tokens: [CLIPTokenizer.startOfText] + tokens + [CLIPTokenizer.endOfText],
                                weights: [1] + weights + [1]))
            tokens = []
            weights = []
            lastComma = -1
        }
        for piece in PromptWeights.parse(prompt) {
            if piece.isBreak {
                close()
                continue
            }
            for token in tokenizer.encode(piece.text) {
                if token == comma {
                    lastComma = tokens.count
                } else if tokens.count == Self.tokensPerChunk && lastComma != -1
                    && tokens.count - lastComma <= Self.commaBacktrack
                {
                    let moved = (Array(tokens[(lastComma + 1)...]), Array(weights[(lastComma + 1)...]))
                    tokens.removeSubrange((lastComma + 1)...)
                    weights.removeSubrange((lastComma + 1)...)
                    close()
                    (tokens, weights) = moved
                }
                if tokens.count == Self.tokensPerChunk { close() }
                tokens.append(token)
                weights.append(Float(piece.weight))
            }
        }
        if !tokens.isEmpty || chunks.isEmpty { close() }
        self.chunks = chunks
    }
}
