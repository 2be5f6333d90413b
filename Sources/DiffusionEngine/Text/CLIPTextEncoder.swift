import LLMEngine

/// CLIP's text transformer (OpenAI's ViT-L/14 text tower in SD 1.x): token and position embeddings,
/// pre-norm layers of causal self-attention and an MLP, a final layer norm. Its width, depth and
/// feed-forward size come from the weights; heads are 64 values wide, as in every CLIP text tower
/// Stable Diffusion uses (one head for a tower narrower than that).
public struct CLIPTextEncoder: Sendable {
    struct Layer: Sendable {
        let norm1: LayerNorm
        var query: Linear
        var key: Linear
        var value: Linear
        var output: Linear
        let norm2: LayerNorm
        var up: Linear
        var down: Linear
    }

    public enum Activation: Sendable { case quickGELU, gelu }

    let tokenEmbedding: Tensor
    let positionEmbedding: Tensor
    var layers: [Layer]
    let finalNorm: LayerNorm
    let heads: Int
    let activation: Activation
    /// OpenCLIP's `text_projection` (SDXL's pooled text vector), when the tower has one.
    let projection: Tensor?
    public let width: Int

    /// `weights` scoped at the text model (`…text_model.`); `projection`: the pooled output's
    /// projection, rows in × columns out (transformers keeps it beside `text_model`).
    public init(_ weights: Weights, activation: Activation = .quickGELU, projection: Tensor? = nil) throws(DiffusionError) {
        tokenEmbedding = try weights.tensor("embeddings.token_embedding.weight")
        positionEmbedding = try weights.tensor("embeddings.position_embedding.weight")
        width = tokenEmbedding.shape[1]
        var layers: [Layer] = []
        while weights.has("encoder.layers.\(layers.count).layer_norm1.weight") {
            let layer = weights.scoped("encoder.layers.\(layers.count)")
            layers.append(Layer(
                norm1: try LayerNorm(layer, "layer_norm1"), query: try Linear(layer, "self_attn.q_proj"),
                key: try Linear(layer, "self_attn.k_proj"), value: try Linear(layer, "self_attn.v_proj"),
                output: try Linear(layer, "self_attn.out_proj"), norm2: try LayerNorm(layer, "layer_norm2"),
                up: try Linear(layer, "mlp.fc1"), down: try Linear(layer, "mlp.fc2")))
        }
        guard !layers.isEmpty else { throw .missingTensor(weights.prefix + "encoder.layers.0.layer_norm1.weight") }
        self.layers = layers
        finalNorm = try LayerNorm(weights, "final_layer_norm")
        heads = max(1, width / 64)
        self.activation = activation
        self.projection = projection
    }

    /// OpenCLIP's text tower (SD 2.x, `cond_stage_model.model.`): the same transformer with the
    /// queries, keys and values packed in one matrix and GELU in the MLP. Its layers take the names
    /// of the Hugging Face layout (`…text_model.encoder.layers.N.self_attn.q_proj`), where LoRAs
    /// for SD 2.x find them.
    public init(openCLIP weights: Weights, namedAs namePrefix: String) throws(DiffusionError) {
        tokenEmbedding = try weights.tensor("token_embedding.weight")
        positionEmbedding = try weights.tensor("positional_embedding")
        let width = tokenEmbedding.shape[1]
        self.width = width
        var layers: [Layer] = []
        while weights.has("transformer.resblocks.\(layers.count).ln_1.weight") {
            let index = layers.count
            let block = weights.scoped("transformer.resblocks.\(index)")
            let packed = try block.tensor("attn.in_proj_weight").values, packedBias = try block.tensor("attn.in_proj_bias").values
            let name = "\(namePrefix)encoder.layers.\(index)."
            let part = width * width
            let projection = { (k: Int, suffix: String) -> Linear in
                Linear(name: name + "self_attn.\(suffix)_proj", weight: packed[k * part..<(k + 1) * part],
                       bias: packedBias[k * width..<(k + 1) * width], outputs: width, precision: weights.precision)
            }
            var output = try Linear(block, "attn.out_proj"), up = try Linear(block, "mlp.c_fc"), down = try Linear(block, "mlp.c_proj")
            output.name = name + "self_attn.out_proj"
            up.name = name + "mlp.fc1"
            down.name = name + "mlp.fc2"
            layers.append(Layer(
                norm1: try LayerNorm(block, "ln_1"), query: projection(0, "q"), key: projection(1, "k"),
                value: projection(2, "v"), output: output, norm2: try LayerNorm(block, "ln_2"), up: up, down: down))
        }
        guard !layers.isEmpty else { throw .missingTensor(weights.prefix + "transformer.resblocks.0.ln_1.weight") }
        self.layers = layers
        finalNorm = try LayerNorm(weights, "ln_final")
        heads = max(1, width / 64)
        activation = .gelu
        projection = weights.has("text_projection") ? try weights.tensor("text_projection") : nil
    }

    public var layerCount: Int { layers.count }

    /// The hidden states for `tokens` (at most the position table's length), after the final norm.
    /// `skip` layers are left out at the end, as AUTOMATIC1111's "clip skip" (skip 1 is its clip
    /// skip 2: the penultimate layer's output, normalized).
    public func encode(_ tokens: [Int32], skip: Int = 0, pool: ComputePool) -> [Float] {
        finalNorm(hidden(tokens, layers: layers.count - min(skip, layers.count - 1), pool: pool), rows: tokens.count)
    }

    /// The hidden states after the first `layerCount` layers, not normalized (where SDXL reads
    /// both of its encoders).
    public func hidden(_ tokens: [Int32], layers layerCount: Int, pool: ComputePool) -> [Float] {
        var x = embed(tokens)
        run(layers[..<layerCount], on: &x, rows: tokens.count, pool: pool)
        return x
    }

    /// SDXL's second encoder: the hidden states after `layerCount` layers and the pooled vector —
    /// the last layer's normalized state at the first end-of-text token, through the text
    /// projection (`text_projection`, rows in × columns out, as OpenCLIP multiplies by it).
    public func hiddenAndPooled(_ tokens: [Int32], layers layerCount: Int, pool: ComputePool) throws(DiffusionError) -> (hidden: [Float], pooled: [Float]) {
        guard let projection else { throw .missingTensor("text_projection") }
        var x = embed(tokens)
        run(layers[..<layerCount], on: &x, rows: tokens.count, pool: pool)
        let kept = x
        run(layers[layerCount...], on: &x, rows: tokens.count, pool: pool)
        let end = tokens.firstIndex(of: CLIPTokenizer.endOfText) ?? tokens.count - 1
        let state = finalNorm(Array(x[end * width..<(end + 1) * width]), rows: 1)
        let outputs = projection.shape[1]
        var pooled = [Float](repeating: 0, count: outputs)
        for i in 0..<width {
            let a = state[i]
            for j in 0..<outputs { pooled[j] += a * projection.values[i * outputs + j] }
        }
        return (kept, pooled)
    }

    private func embed(_ tokens: [Int32]) -> [Float] {
        precondition(tokens.count <= positionEmbedding.shape[0], "more tokens than CLIP's positions")
        var x = [Float](repeating: 0, count: tokens.count * width)
        for (position, token) in tokens.enumerated() {
            for i in 0..<width {
                x[position * width + i] = tokenEmbedding.values[Int(token) * width + i]
                    + positionEmbedding.values[position * width + i]
            }
        }
        return x
    }

    private func run(_ layers: ArraySlice<Layer>, on x: inout [Float], rows count: Int, pool: ComputePool) {
        for layer in layers {
            let normed = layer.norm1(x, rows: count)
            let attended = Attention.callAsFunction(
                queries: layer.query(normed, rows: count, pool: pool), keys: layer.key(normed, rows: count, pool: pool),
                values: layer.value(normed, rows: count, pool: pool), queryCount: count, keyCount: count, width: width,
                heads: heads, causal: true, pool: pool)
            add(layer.output(attended, rows: count, pool: pool), to: &x)
            var hidden = layer.up(layer.norm2(x, rows: count), rows: count, pool: pool)
            switch activation {
            case .quickGELU: for i in hidden.indices { hidden[i] = DiffusionEngine.Activation.quickGELU(hidden[i]) }
            case .gelu: for i in hidden.indices { hidden[i] = DiffusionEngine.Activation.gelu(hidden[i]) }
            }
            add(layer.down(hidden, rows: count, pool: pool), to: &x)
        }
    }
}

func add(_ values: [Float], to x: inout [Float]) {
    precondition(values.count == x.count, "added rows must be the same size")
    for i in x.indices { x[i] += values[i] }
}
