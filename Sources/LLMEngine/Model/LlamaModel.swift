import Foundation
import LLMKernels

/// A Llama-family transformer (and its relatives, as `config.architecture` describes them). `forward` runs a batch of tokens — from one sequence (a prompt)
/// or from many (concurrent generations) — through every layer at once, so each weight is read
/// from memory once per batch, and leaves logits in the states of the tokens that ask for them.
/// The arithmetic is llama.cpp's CPU path operation for operation (8-bit activations for
/// quantized weights, its exp and fused multiply-adds); with `ProductOrder.llamaCpp` the matrix
/// products, the half-precision KV cache and attention too, and the logits are bit-identical to
/// llama.cpp's one-token-at-a-time output. Either way a token's result does not depend on what
/// else is in its batch.
public final class LlamaModel: Sendable {
    public let config: LlamaConfig
    public let tokenizer: BPETokenizer
    public let file: GGUFFile
    let weights: LlamaWeights
    /// The threads every forward pass of this model splits its arithmetic between.
    public let pool: ComputePool
    /// How products add up: matrix products, and attention's products with the KV cache.
    public let order: ProductOrder

    public init(
        file: GGUFFile, threads: Int = ProcessInfo.processInfo.activeProcessorCount, order: ProductOrder = .blockwise
    ) throws(GGUFError) {
        self.file = file
        config = try LlamaConfig(file: file)
        tokenizer = try BPETokenizer(file: file)
        weights = try LlamaWeights(file: file, config: config, order: order)
        pool = ComputePool(threadCount: threads)
        self.order = order
    }

    public convenience init(
        path: String, threads: Int = ProcessInfo.processInfo.activeProcessorCount, order: ProductOrder = .blockwise
    ) throws(GGUFError) {
        try self.init(file: GGUFFile(path: path), threads: threads, order: order)
    }

    public func makeState(capacity: Int? = nil) -> LlamaState {
        LlamaState(config: config, capacity: min(capacity ?? config.contextLength, config.contextLength),
                   format: order == .blockwise && config.headDimension % 4 == 0 ? .bytes : .half)
    }

    public func makeScratch(tokens: Int) -> ForwardScratch {
        ForwardScratch(config: config, tokens: tokens, threads: pool.threadCount)
    }

    /// One token of a batch: it runs at its state's next position (after the batch's earlier
    /// tokens of the same state), and `wantsLogits` leaves the next token's logits in the state.
    public struct Step {
        public var token: BPETokenizer.Token
        public var state: LlamaState
        public var wantsLogits: Bool

        public init(token: BPETokenizer.Token, state: LlamaState, wantsLogits: Bool) {
            self.token = token
            self.state = state
            self.wantsLogits = wantsLogits
        }
    }

    /// Runs `token` at the state's next position; the logits are in `state.logits` afterwards.
    public func forward(token: BPETokenizer.Token, state: LlamaState) {
        let scratch = state.singleTokenScratch ?? makeScratch(tokens: 1)
        state.singleTokenScratch = scratch
        forward([Step(token: token, state: state, wantsLogits: true)], scratch: scratch)
    }

    public func forward(_ steps: [Step], scratch: ForwardScratch) {
        precondition(steps.count <= scratch.tokens, "the batch is larger than its scratch space")
        guard !steps.isEmpty else { return }
        let count = steps.count
        let dimension = config.embeddingLength

        var positions = [Int](repeating: 0, count: count)
        var advanced: [ObjectIdentifier: Int] = [:]
        for (index, step) in steps.enumerated() {
            let offset = advanced[ObjectIdentifier(step.state), default: 0]
            positions[index] = step.state.position + offset
            precondition(positions[index] < step.state.capacity, "the sequence is longer than its state holds")
            advanced[ObjectIdentifier(step.state)] = offset + 1
        }

        // Gemma scales the embedding by √dim (in float, as ggml_scale does).
        let embeddingScale: Float? = config.architecture.scalesEmbedding ? Float(dimension).squareRoot() : nil
        for (index, step) in steps.enumerated() {
            let embedding = weights.tokenEmbedding, row = scratch.x + index * dimension
            Dequantize.row(
                UnsafeRawBufferPointer(rebasing: embedding.bytes[
                    Int(step.token) * embedding.rowBytes..<(Int(step.token) + 1) * embedding.rowBytes]),
                type: embedding.type, into: UnsafeMutableBufferPointer(start: row, count: dimension))
            if let embeddingScale {
                for j in 0..<dimension { row[j] *= embeddingScale }
            }
            fillRotations(scratch, token: index, position: positions[index])
        }

        let plan = attentionPlan(tokens: count, oneTokenPerSequence: advanced.count == count)
        for (layerIndex, layer) in weights.layers.enumerated() {
            // Attention.
            let slots = cacheSlots(layer: layerIndex, steps: steps)
            parallelMultiply([
                (layer.query, scratch.query, layer.queryBias),
                (layer.key, scratch.key, layer.keyBias),
                (layer.value, scratch.value, layer.valueBias),
            ], input: .normalized(by: layer.attentionNorm), count: count, scratch: scratch, eachThread: { thread in
                self.prefetchFirstUnit(plan, layer: layerIndex, thread: thread, slots: slots, positions: positions)
            })
            if !plan.rotatesAndStores {
                eachToken(count) {
                    rotateAndStore(token: $0, kvHeads: 0..<config.kvHeadCount, layer: layerIndex, slots: slots,
                                   positions: positions, scratch: scratch)
                }
            }
            attention(plan, layer: layerIndex, slots: slots, positions: positions, scratch: scratch)
            if !plan.quantizesOutput {
                eachTokenRange(count) { scratch.quantizedAttention.quantize(scratch.attentionOut, vectors: $0) }
            }
            addProjection(layer.attentionOutput, of: scratch.attentionOut, quantized: scratch.quantizedAttention,
                          count: count, scratch: scratch, norm: layer.postAttentionNorm)

            // Feed-forward: down(act(gate(x)) * up(x)).
            gatedFeedForward(layer, scratch: scratch, count: count)
            addProjection(layer.down, of: scratch.gate, quantized: scratch.quantizedHidden, count: count, scratch: scratch,
                          norm: layer.postFeedForwardNorm)
        }

        // Only the tokens that asked pay for the vocabulary-sized output projection.
        let wanting = steps.indices.filter { steps[$0].wantsLogits }
        if !wanting.isEmpty {
            // Their final norms gathered and quantized, and the logits handed to their states, by
            // all threads: one thread copying eight vocabulary-sized rows kept the other waiting.
            eachTokenRange(wanting.count) { rows in
                for row in rows {
                    rmsNorm(scratch.x + wanting[row] * dimension, tokens: 0..<1, weight: weights.outputNorm,
                            into: scratch.attentionOut + row * dimension)
                }
                scratch.quantizedEmbedding.quantize(scratch.attentionOut, vectors: rows)
            }
            scratch.reserveLogits(rows: wanting.count)
            let vocabulary = config.vocabularySize
            parallelMultiply([(weights.output, scratch.logits, nil)],
                             input: .shared(scratch.attentionOut, scratch.quantizedEmbedding), count: wanting.count,
                             scratch: scratch, eachShare: { columns in
                for (row, index) in wanting.enumerated() {
                    (steps[index].state.logits.baseAddress! + columns.lowerBound)
                        .update(from: scratch.logits + row * vocabulary + columns.lowerBound, count: columns.count)
                }
            })
        }
        for step in steps {
            step.state.position += 1
            step.state.history.append(step.token)
        }
    }

}
