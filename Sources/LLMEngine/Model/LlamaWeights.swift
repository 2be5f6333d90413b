/// The tensors of a Llama-family model, by role. Q and K are stored permuted by llama.cpp's
/// converter so that RoPE rotates adjacent pairs.
struct LlamaWeights: Sendable {
    struct Layer: Sendable {
        var attentionNorm: [Float]
        var query: WeightMatrix
        var key: WeightMatrix
        var value: WeightMatrix
        var queryBias: [Float]?
        var keyBias: [Float]?
        var valueBias: [Float]?
        var attentionOutput: WeightMatrix
        var feedForwardNorm: [Float]
        var gate: WeightMatrix
        var up: WeightMatrix
        var down: WeightMatrix
    }

    var tokenEmbedding: GGUFTensor
    var outputNorm: [Float]
    /// The output projection; models with tied embeddings reuse the token embedding.
    var output: WeightMatrix
    var layers: [Layer]

    init(file: GGUFFile, config: LlamaConfig, order: ProductOrder) throws(GGUFError) {
        tokenEmbedding = try file.requiredTensor(named: "token_embd.weight")
        outputNorm = try file.requiredTensor(named: "output_norm.weight").floats()
        // A matrix copied into the kernels' layout is not read from the file again: its pages are
        // handed back, so the copy does not count twice in memory (the embedding rows a prompt
        // looks up are paged back in as needed).
        let outputTensor = file.tensor(named: "output.weight") ?? tokenEmbedding
        let matrixNames = ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"]
        var sizes = [WeightMatrix.copySize(of: outputTensor, order: order)]
        for index in 0..<config.layerCount {
            for name in matrixNames {
                sizes.append(WeightMatrix.copySize(of: try file.requiredTensor(named: "blk.\(index).\(name).weight"),
                                                   order: order))
            }
        }
        // The copies side by side in one allocation, so they share 2 MB pages.
        let arena = WeightArena(byteCount: WeightArena.byteCount(for: sizes))
        func matrix(_ tensor: GGUFTensor) -> WeightMatrix {
            let matrix = WeightMatrix(tensor, order: order, arena: arena)
            if matrix.isCopied { file.releasePages(of: tensor) }
            return matrix
        }
        output = matrix(outputTensor)
        var layers: [Layer] = []
        for index in 0..<config.layerCount {
            func tensor(_ name: String) throws(GGUFError) -> GGUFTensor {
                try file.requiredTensor(named: "blk.\(index).\(name).weight")
            }
            func bias(_ name: String) -> [Float]? {
                file.tensor(named: "blk.\(index).\(name).bias")?.floats()
            }
            layers.append(Layer(
                attentionNorm: try tensor("attn_norm").floats(), query: matrix(try tensor("attn_q")),
                key: matrix(try tensor("attn_k")), value: matrix(try tensor("attn_v")), queryBias: bias("attn_q"),
                keyBias: bias("attn_k"), valueBias: bias("attn_v"), attentionOutput: matrix(try tensor("attn_output")),
                feedForwardNorm: try tensor("ffn_norm").floats(), gate: matrix(try tensor("ffn_gate")),
                up: matrix(try tensor("ffn_up")), down: matrix(try tensor("ffn_down"))))
        }
        self.layers = layers
    }
}
