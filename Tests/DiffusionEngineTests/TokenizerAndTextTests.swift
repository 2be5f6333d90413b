import Testing
@testable import DiffusionEngine

struct TokenizerAndTextTests {
    @Test func tokensAreTransformersCLIPTokenizers() throws {
        let tokenizer = Reference.model.tokenizer
        for item in Reference.json["tokens"] as! [[String: Any]] {
            let text = item["text"] as! String
            let expected = (item["ids"] as! [Int]).map(Int32.init)
            let ids = [CLIPTokenizer.startOfText] + tokenizer.encode(text) + [CLIPTokenizer.endOfText]
            #expect(ids == expected, "\(text)")
        }
    }

    @Test func textEmbeddingsAreDiffusersWithAndWithoutClipSkip() {
        let prompt = Reference.json["prompt"] as! String
        let last = Reference.model.encodePrompt(prompt, pool: Reference.pool)
        #expect(relativeError(last, Reference.tensor("text.last").values) < 1e-5)
        let skipped = Reference.model.encodePrompt(prompt, clipSkip: 2, pool: Reference.pool)
        #expect(relativeError(skipped, Reference.tensor("text.skip2").values) < 1e-5)
        #expect(relativeError(skipped, last) > 1e-2, "clip skip must change the embedding")
    }

    @Test func torchNormalDrawsAreReproduced() {
        var generator = TorchGenerator(seed: 123_456_789)
        let a = generator.normal(count: 64), b = generator.normal(count: 37)
        #expect(relativeError(a, Reference.tensor("randn.seed123456789.a").values) < 1e-6)
        #expect(relativeError(b, Reference.tensor("randn.seed123456789.b").values) < 1e-6)
        var other = TorchGenerator(seed: 5)
        #expect(relativeError(other.normal(count: 256), Reference.tensor("randn.seed5.latent").values) < 1e-6)
    }
}
