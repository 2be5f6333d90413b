/// The tensors of a Llama-family model, by role. Q and K are stored permuted by llama.cpp's
/// converter so that RoPE rotates adjacent pairs.
struct LlamaWeights: Sendable {
    struct Layer: Sendable {
        var attentionNorm: [Float]
        var query: GGUFTensor
        var key: GGUFTensor
        var value: GGUFTensor
        var queryBias: [Float]?
        var keyBias: [Float]?
        var valueBias: [Float]?
        var attentionOutput: GGUFTensor
        var feedForwardNorm: [Float]
        var gate: GGUFTensor
        var up: GGUFTensor
        var down: GGUFTensor
    }

    var tokenEmbedding: GGUFTensor
    var outputNorm: [Float]
    /// The output projection; models with tied embeddings reuse the token embedding.
    var output: GGUFTensor
    var layers: [Layer]

    init(file: GGUFFile, config: LlamaConfig) throws(GGUFError) {
        tokenEmbedding = try file.requiredTensor(named: "token_embd.weight")
        outputNorm = try file.requiredTensor(named: "output_norm.weight").floats()
        output = file.tensor(named: "output.weight") ?? tokenEmbedding
        var layers: [Layer] = []
        for index in 0..<config.layerCount {
            func tensor(_ name: String) throws(GGUFError) -> GGUFTensor {
                try file.requiredTensor(named: "blk.\(index).\(name).weight")
            }
            func bias(_ name: String) -> [Float]? {
                file.tensor(named: "blk.\(index).\(name).bias")?.floats()
            }
            layers.append(Layer(
                attentionNorm: try tensor("attn_norm").floats(), query: try tensor("attn_q"), key: try tensor("attn_k"),
                value: try tensor("attn_v"), queryBias: bias("attn_q"), keyBias: bias("attn_k"),
                valueBias: bias("attn_v"), attentionOutput: try tensor("attn_output"),
                feedForwardNorm: try tensor("ffn_norm").floats(), gate: try tensor("ffn_gate"), up: try tensor("ffn_up"),
                down: try tensor("ffn_down")))
        }
        self.layers = layers
    }
}
