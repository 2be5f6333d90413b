/// The tensors of a Llama-family model, by role. Llama's Q and K are stored permuted by llama.cpp's
/// converter so that RoPE rotates adjacent pairs. The norms an architecture adds are there when its
/// `ModelArchitecture` asks for them.
struct LlamaWeights: Sendable {
    struct Layer: Sendable {
        var attentionNorm: [Float]
        var query: WeightMatrix
        var key: WeightMatrix
        var value: WeightMatrix
        var queryBias: [Float]?
        var keyBias: [Float]?
        var valueBias: [Float]?
        /// Per-head norms of queries and keys before RoPE (`normalizesQueriesAndKeys`).
        var queryNorm: [Float]?
        var keyNorm: [Float]?
        var attentionOutput: WeightMatrix
        /// Norms of the attention and feed-forward outputs (`normalizesSublayerOutputs`).
        var postAttentionNorm: [Float]?
        var postFeedForwardNorm: [Float]?
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
        // Every layer's matrices found first, so their copies can be sized into one allocation.
        var layerMatrices: [[String: GGUFTensor]] = []
        for index in 0..<config.layerCount {
            layerMatrices.append(try Self.matrices(of: index, in: file, config: config))
        }
        let sizes = ([outputTensor] + layerMatrices.flatMap(\.values)).map {
            WeightMatrix.copySize(of: $0, order: order)
        }
        // The copies side by side in one allocation, so they share 2 MB pages.
        let arena = WeightArena(byteCount: WeightArena.byteCount(for: sizes))
        func weightMatrix(_ tensor: GGUFTensor) -> WeightMatrix {
            let matrix = WeightMatrix(tensor, order: order, arena: arena, releasingPagesOf: file)
            if matrix.isCopied { file.releasePages(of: tensor) }
            return matrix
        }
        output = weightMatrix(outputTensor)
        var layers: [Layer] = []
        for (index, tensors) in layerMatrices.enumerated() {
            func matrix(_ name: String) -> WeightMatrix { weightMatrix(tensors[name]!) }
            func vector(_ name: String) throws(GGUFError) -> [Float] {
                try file.requiredTensor(named: "blk.\(index).\(name).weight").floats()
            }
            func bias(_ name: String) -> [Float]? {
                file.tensor(named: "blk.\(index).\(name).bias")?.floats()
            }
            let architecture = config.architecture
            func vector(_ name: String, if wanted: Bool) throws(GGUFError) -> [Float]? {
                wanted ? try vector(name) : nil
            }
            layers.append(Layer(
                attentionNorm: try vector("attn_norm"), query: matrix("attn_q"), key: matrix("attn_k"),
                value: matrix("attn_v"), queryBias: bias("attn_q"), keyBias: bias("attn_k"), valueBias: bias("attn_v"),
                queryNorm: try vector("attn_q_norm", if: architecture.normalizesQueriesAndKeys),
                keyNorm: try vector("attn_k_norm", if: architecture.normalizesQueriesAndKeys),
                attentionOutput: matrix("attn_output"),
                postAttentionNorm: try vector("post_attention_norm", if: architecture.normalizesSublayerOutputs),
                postFeedForwardNorm: try vector("post_ffw_norm", if: architecture.normalizesSublayerOutputs),
                feedForwardNorm: try vector("ffn_norm"),
                gate: matrix("ffn_gate"), up: matrix("ffn_up"), down: matrix("ffn_down")))
        }
        self.layers = layers
    }

    /// Layer `index`'s matrices by role; fused ones (Phi-3's `attn_qkv`, and its `ffn_up` holding
    /// the gate's rows, then up's) split into their parts.
    static func matrices(of index: Int, in file: GGUFFile, config: LlamaConfig) throws(GGUFError) -> [String: GGUFTensor] {
        func tensor(_ name: String) -> GGUFTensor? { file.tensor(named: "blk.\(index).\(name).weight") }
        func required(_ name: String) throws(GGUFError) -> GGUFTensor {
            try file.requiredTensor(named: "blk.\(index).\(name).weight")
        }
        guard file.tensor(named: "rope_factors_long.weight") == nil && tensor("rope_factors_long") == nil else {
            throw GGUFError.malformed(path: file.path, reason: "RoPE scaling factors (long-context variants) are not supported")
        }
        var tensors: [String: GGUFTensor] = [:]
        for name in ["attn_output", "ffn_down"] { tensors[name] = try required(name) }
        if let fused = tensor("attn_qkv") {
            let query = config.queryWidth, kv = config.kvDimension
            guard fused.rowCount == query + 2 * kv else {
                throw GGUFError.malformed(path: file.path, reason: "blk.\(index).attn_qkv has \(fused.rowCount) rows")
            }
            tensors["attn_q"] = fused.rows(0..<query, name: "attn_q")
            tensors["attn_k"] = fused.rows(query..<query + kv, name: "attn_k")
            tensors["attn_v"] = fused.rows(query + kv..<query + 2 * kv, name: "attn_v")
        } else {
            for name in ["attn_q", "attn_k", "attn_v"] { tensors[name] = try required(name) }
        }
        let up = try required("ffn_up"), width = config.feedForwardLength
        if let gate = tensor("ffn_gate") {
            tensors["ffn_gate"] = gate
            tensors["ffn_up"] = up
        } else {
            guard up.rowCount == 2 * width else {
                throw GGUFError.malformed(path: file.path, reason: "blk.\(index).ffn_gate is missing")
            }
            tensors["ffn_gate"] = up.rows(0..<width, name: "ffn_gate")
            tensors["ffn_up"] = up.rows(width..<2 * width, name: "ffn_up")
        }
        return tensors
    }
}
