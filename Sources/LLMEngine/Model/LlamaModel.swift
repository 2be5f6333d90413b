import Foundation

/// A Llama-family transformer: `forward(token:state:)` runs one token through every layer and
/// leaves the next token's logits in the state. The numerics follow llama.cpp's CPU path
/// (8-bit activations for quantized weights, half-precision KV cache) so that greedy output is
/// the same token for token.
public final class LlamaModel: Sendable {
    public let config: LlamaConfig
    public let tokenizer: BPETokenizer
    public let file: GGUFFile
    let weights: LlamaWeights

    public init(file: GGUFFile) throws(GGUFError) {
        self.file = file
        config = try LlamaConfig(file: file)
        tokenizer = try BPETokenizer(file: file)
        weights = try LlamaWeights(file: file, config: config)
    }

    public convenience init(path: String) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path))
    }

    public func makeState(capacity: Int? = nil) -> LlamaState {
        LlamaState(config: config, capacity: min(capacity ?? config.contextLength, config.contextLength))
    }

    /// Runs `token` at the state's next position; the logits are in `state.logits` afterwards.
    public func forward(token: BPETokenizer.Token, state: LlamaState) {
        precondition(state.position < state.capacity, "the sequence is longer than its state holds")
        let config = self.config
        let position = state.position
        let dimension = config.embeddingLength
        let kvDimension = config.kvDimension
        let headDimension = config.headDimension
        let groupSize = config.headCount / config.kvHeadCount

        Dequantize.row(
            UnsafeRawBufferPointer(rebasing: weights.tokenEmbedding.bytes[
                Int(token) * weights.tokenEmbedding.rowBytes..<(Int(token) + 1) * weights.tokenEmbedding.rowBytes]),
            type: weights.tokenEmbedding.type, into: state.x)

        for (layerIndex, layer) in weights.layers.enumerated() {
            // Attention.
            rmsNorm(state.x, weight: layer.attentionNorm, into: state.normalized)
            state.quantizedEmbedding.quantize(UnsafeBufferPointer(state.normalized))
            matmul(layer.query, state.normalized, state.quantizedEmbedding, into: state.query, bias: layer.queryBias)
            matmul(layer.key, state.normalized, state.quantizedEmbedding, into: state.key, bias: layer.keyBias)
            matmul(layer.value, state.normalized, state.quantizedEmbedding, into: state.value, bias: layer.valueBias)
            rope(state.query, heads: config.headCount, position: position)
            rope(state.key, heads: config.kvHeadCount, position: position)

            let layerCache = layerIndex * state.capacity * kvDimension
            let keys = state.keyCache + layerCache
            let values = state.valueCache + layerCache
            for j in 0..<kvDimension {
                keys[position * kvDimension + j] = Float16(state.key[j])
                values[position * kvDimension + j] = Float16(state.value[j])
            }

            let scale = 1 / Float(headDimension).squareRoot()
            for head in 0..<config.headCount {
                let kvHead = head / groupSize
                // llama.cpp multiplies with the half-precision cache after rounding the query to half.
                let query = state.query.baseAddress! + head * headDimension
                for j in 0..<headDimension { query[j] = Float(Float16(query[j])) }
                for t in 0...position {
                    let key = keys + t * kvDimension + kvHead * headDimension
                    var dot: Float = 0
                    for j in 0..<headDimension { dot += query[j] * Float(key[j]) }
                    state.scores[t] = dot * scale
                }
                softmax(UnsafeMutableBufferPointer(rebasing: state.scores[0...position]))
                let out = state.attentionOut.baseAddress! + head * headDimension
                for j in 0..<headDimension { out[j] = 0 }
                for t in 0...position {
                    let weight = Float(Float16(state.scores[t]))
                    let value = values + t * kvDimension + kvHead * headDimension
                    for j in 0..<headDimension { out[j] += weight * Float(value[j]) }
                }
            }
            addProjection(layer.attentionOutput, of: state.attentionOut, quantized: &state.quantizedEmbedding, to: state)

            // Feed-forward: down(silu(gate(x)) * up(x)).
            rmsNorm(state.x, weight: layer.feedForwardNorm, into: state.normalized)
            state.quantizedEmbedding.quantize(UnsafeBufferPointer(state.normalized))
            matmul(layer.gate, state.normalized, state.quantizedEmbedding, into: state.gate)
            matmul(layer.up, state.normalized, state.quantizedEmbedding, into: state.up)
            for j in 0..<config.feedForwardLength {
                let g = state.gate[j]
                state.gate[j] = g / (1 + exp(-g)) * state.up[j]
            }
            addProjection(layer.down, of: state.gate, quantized: &state.quantizedHidden, to: state)
        }

        rmsNorm(state.x, weight: weights.outputNorm, into: state.normalized)
        state.quantizedEmbedding.quantize(UnsafeBufferPointer(state.normalized))
        matmul(weights.output, state.normalized, state.quantizedEmbedding, into: state.logits)
        state.position += 1
    }

    /// x += W·input: the residual connection after attention and after the feed-forward block.
    private func addProjection(
        _ weight: GGUFTensor, of input: UnsafeMutableBufferPointer<Float>, quantized: inout QuantizedActivations,
        to state: LlamaState
    ) {
        quantized.quantize(UnsafeBufferPointer(input))
        matmul(weight, input, quantized, into: state.projected)
        for j in 0..<state.x.count { state.x[j] += state.projected[j] }
    }

    private func matmul(
        _ weight: GGUFTensor, _ input: UnsafeMutableBufferPointer<Float>, _ quantized: QuantizedActivations,
        into output: UnsafeMutableBufferPointer<Float>, bias: [Float]? = nil
    ) {
        MatrixVector.multiply(weight, input: UnsafeBufferPointer(input), quantized: quantized, into: output,
                              rows: 0..<weight.rowCount)
        if let bias {
            for j in 0..<bias.count { output[j] += bias[j] }
        }
    }

    /// x / sqrt(mean(x²) + ε) · w, the mean summed in double as ggml does.
    private func rmsNorm(_ x: UnsafeMutableBufferPointer<Float>, weight: [Float], into output: UnsafeMutableBufferPointer<Float>) {
        var sum: Double = 0
        for value in x { sum += Double(value * value) }
        let scale = 1 / (Float(sum / Double(x.count)) + config.rmsEpsilon).squareRoot()
        for j in 0..<x.count { output[j] = x[j] * scale * weight[j] }
    }

    /// Rotates adjacent pairs of each head by position · base^(−2i/d).
    private func rope(_ vector: UnsafeMutableBufferPointer<Float>, heads: Int, position: Int) {
        let headDimension = config.headDimension
        let thetaScale = pow(config.ropeFrequencyBase, -2 / Float(headDimension))
        for head in 0..<heads {
            var theta = Float(position)
            let base = head * headDimension
            for i in stride(from: 0, to: headDimension, by: 2) {
                let cosine = cos(theta), sine = sin(theta)
                let a = vector[base + i], b = vector[base + i + 1]
                vector[base + i] = a * cosine - b * sine
                vector[base + i + 1] = a * sine + b * cosine
                theta *= thetaScale
            }
        }
    }

    private func softmax(_ values: UnsafeMutableBufferPointer<Float>) {
        var maximum = -Float.infinity
        for value in values { maximum = max(maximum, value) }
        var sum: Double = 0
        for j in 0..<values.count {
            values[j] = exp(values[j] - maximum)
            sum += Double(values[j])
        }
        let inverse = Float(1 / sum)
        for j in 0..<values.count { values[j] *= inverse }
    }
}
