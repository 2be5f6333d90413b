import Testing
@testable import DiffusionEngine

/// AUTOMATIC1111's prompt syntax: emphasis, escapes, BREAK, and 75-token chunks.
struct PromptSyntaxTests {
    typealias Piece = PromptWeights.Piece

    static func pairs(_ prompt: String) -> [(String, Double)] {
        PromptWeights.parse(prompt).map { ($0.isBreak ? "BREAK" : $0.text, $0.weight) }
    }

    static func expectPieces(_ prompt: String, _ expected: [(String, Double)]) {
        let parsed = pairs(prompt)
        #expect(parsed.map(\.0) == expected.map(\.0), "\(prompt)")
        for (got, want) in zip(parsed, expected) {
            #expect(abs(got.1 - want.1) < 1e-12, "\(prompt): '\(got.0)' weighs \(got.1), not \(want.1)")
        }
    }

    @Test func bracketsWeighAndNest() {
        Self.expectPieces("a plain prompt", [("a plain prompt", 1)])
        Self.expectPieces("a (red) fox", [("a ", 1), ("red", 1.1), (" fox", 1)])
        Self.expectPieces("a [dim] light", [("a ", 1), ("dim", 1 / 1.1), (" light", 1)])
        Self.expectPieces("((very)) (bright:1.4) [[faint]]",
                          [("very", 1.1 * 1.1), (" ", 1), ("bright", 1.4), (" ", 1), ("faint", 1 / 1.1 / 1.1)])
        Self.expectPieces("(a (b:2) c)", [("a ", 1.1), ("b", 2 * 1.1), (" c", 1.1)])
        Self.expectPieces("(open to the end", [("open to the end", 1.1)])
        Self.expectPieces("[open", [("open", 1 / 1.1)])
        Self.expectPieces("(x:-0.5) y", [("x", -0.5), (" y", 1)])
    }

    @Test func whatIsNotSyntaxStaysText() {
        Self.expectPieces(#"\(not weighted\) \[nor this\] \\"#, [(#"(not weighted) [nor this] \"#, 1)])
        Self.expectPieces("time: 3 pm", [("time: 3 pm", 1)])
        Self.expectPieces("stray) and] brackets", [("stray) and] brackets", 1)])
        Self.expectPieces("(word:abc)", [("word:abc", 1.1)])
        Self.expectPieces("no bracket:1.5) here", [("no bracket:1.5) here", 1)])
        Self.expectPieces("", [("", 1)])
    }

    @Test func breakStartsANewPiece() {
        Self.expectPieces("a cat BREAK a dog", [("a cat", 1), ("BREAK", -1), ("a dog", 1)])
        Self.expectPieces("BREAKFAST at noon", [("BREAKFAST at noon", 1)])
    }

    @Test func chunksHold75TokensWrappedAndPadded() throws {
        let tokenizer = Reference.model.tokenizer
        let cat = tokenizer.encode("cat")
        #expect(cat.count == 1)
        let short = PromptChunks("a cat", tokenizer: tokenizer).chunks
        #expect(short.count == 1)
        let ids = tokenizer.encode("a cat")
        #expect(short[0].tokens == [CLIPTokenizer.startOfText] + ids
            + Array(repeating: CLIPTokenizer.endOfText, count: 76 - ids.count))
        #expect(short[0].weights == Array(repeating: 1, count: 77))

        let long = PromptChunks(Array(repeating: "cat", count: 100).joined(separator: " "), tokenizer: tokenizer).chunks
        #expect(long.count == 2)
        #expect(long.allSatisfy { $0.tokens.count == 77 && $0.tokens.first == CLIPTokenizer.startOfText
            && $0.tokens.last == CLIPTokenizer.endOfText })
        #expect(long[0].tokens[1...75].allSatisfy { $0 == cat[0] })
        #expect(long[1].tokens[1...25].allSatisfy { $0 == cat[0] })
        #expect(long[1].tokens[26...].allSatisfy { $0 == CLIPTokenizer.endOfText })
    }

    @Test func aFullChunkMovesTheWordsAfterItsLastCommaOn() {
        let tokenizer = Reference.model.tokenizer
        let words = Array(repeating: "cat", count: 70).joined(separator: " ") + ", "
            + Array(repeating: "dog", count: 10).joined(separator: " ")
        let chunks = PromptChunks(words, tokenizer: tokenizer).chunks
        let dog = tokenizer.encode("dog")[0], comma = tokenizer.commaToken
        #expect(chunks.count == 2)
        #expect(chunks[0].tokens[71] == comma)
        #expect(chunks[0].tokens[72...].allSatisfy { $0 == CLIPTokenizer.endOfText })
        #expect(chunks[1].tokens[1...10].allSatisfy { $0 == dog })
    }

    @Test func breakAndWeightsReachTheChunks() {
        let tokenizer = Reference.model.tokenizer
        let chunks = PromptChunks("a cat BREAK (red:1.5) dog", tokenizer: tokenizer).chunks
        #expect(chunks.count == 2)
        #expect(chunks[1].weights[1] == 1.5 && chunks[1].weights[2] == 1)
        #expect(chunks[0].weights.allSatisfy { $0 == 1 })
    }

    @Test func emphasisScalesItsRowsAndKeepsTheMean() {
        let model = Reference.model, pool = Reference.pool
        let plain = model.encodePrompt("a red fox", pool: pool)
        let weighted = model.encodePrompt("a (red:1.5) fox", pool: pool)
        let width = model.textEncoder.width
        func mean(_ x: [Float]) -> Double { x.reduce(0.0) { $0 + Double($1) } / Double(x.count) }
        #expect(abs(mean(weighted) - mean(plain)) < 1e-6)
        // Every row is the plain row times one common factor, `red`'s (row 2) times 1.5 more.
        let factor = weighted[0] / plain[0]
        for row in 0..<77 {
            let scale = factor * (row == 2 ? 1.5 : 1)
            let rowError = relativeError(Array(weighted[row * width..<(row + 1) * width]),
                                         Array(plain[row * width..<(row + 1) * width]).map { $0 * scale })
            #expect(rowError < 1e-5, "row \(row)")
        }
        #expect(abs(factor - 1) > 1e-4, "the mean's correction is applied")
    }

    @Test func aLongPromptGivesOneContextRowBlockPerChunk() {
        let model = Reference.model, pool = Reference.pool
        let prompt = Array(repeating: "cat", count: 100).joined(separator: " ")
        let rows = model.encodePrompt(prompt, pool: pool)
        #expect(rows.count == 2 * 77 * model.textEncoder.width)
        let first = PromptChunks(prompt, tokenizer: model.tokenizer).chunks[0]
        #expect(Array(rows.prefix(77 * model.textEncoder.width)) == model.textEncoder.encode(first.tokens, pool: pool))
    }
}
