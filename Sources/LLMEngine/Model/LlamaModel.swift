import Foundation
import LLMKernels

/// A Llama-family transformer. `forward` runs a batch of tokens — from one sequence (a prompt)
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

        for (index, step) in steps.enumerated() {
            let embedding = weights.tokenEmbedding
            Dequantize.row(
                UnsafeRawBufferPointer(rebasing: embedding.bytes[
                    Int(step.token) * embedding.rowBytes..<(Int(step.token) + 1) * embedding.rowBytes]),
                type: embedding.type, into: UnsafeMutableBufferPointer(start: scratch.x + index * dimension, count: dimension))
            fillRotation(scratch.rotation + index * config.headDimension, position: positions[index])
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
                self.prefetchFirstUnit(plan, thread: thread, slots: slots, positions: positions)
            })
            if !plan.rotatesAndStores {
                eachToken(count) {
                    rotateAndStore(token: $0, kvHeads: 0..<config.kvHeadCount, slots: slots, positions: positions,
                                   scratch: scratch)
                }
            }
            attention(plan, slots: slots, positions: positions, scratch: scratch)
            if !plan.quantizesOutput {
                eachTokenRange(count) { scratch.quantizedEmbedding.quantize(scratch.attentionOut, vectors: $0) }
            }
            addProjection(layer.attentionOutput, of: scratch.attentionOut, quantized: scratch.quantizedEmbedding,
                          count: count, scratch: scratch)

            // Feed-forward: down(silu(gate(x)) * up(x)).
            gatedFeedForward(layer, scratch: scratch, count: count)
            addProjection(layer.down, of: scratch.gate, quantized: scratch.quantizedHidden, count: count, scratch: scratch)
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
        for step in steps { step.state.position += 1 }
    }

    /// How attention's work is cut into units for the threads, and what the units do besides.
    struct AttentionPlan {
        /// Query heads per unit: a KV head's whole group (each cached key and value then read once
        /// for all of them) when there are enough groups to keep every thread busy, else one.
        var together: Int
        /// Whether each unit first rotates its query heads and its token's key, and stores the key
        /// and value in the cache: when a unit has its KV head's whole group and no sequence has two
        /// tokens in the batch (one token's attention would need another's key, stored by another
        /// unit) — a decode step, saving the threads a hand-off per layer.
        var rotatesAndStores: Bool
        /// Whether each unit quantizes its output for the projection after it, as it is whole blocks.
        var quantizesOutput: Bool
        /// Units per token: its query heads, `together` at a time.
        var unitsPerToken: Int
    }

    private func attentionPlan(tokens: Int, oneTokenPerSequence: Bool) -> AttentionPlan {
        let group = config.headCount / config.kvHeadCount
        let together = tokens * config.kvHeadCount >= 2 * pool.threadCount ? group : 1
        return AttentionPlan(together: together, rotatesAndStores: together == group && oneTokenPerSequence,
                             quantizesOutput: together * config.headDimension % 32 == 0,
                             unitsPerToken: config.headCount / together)
    }

    /// Each token's cache slot for each KV head of `layer`, token by token.
    private func cacheSlots(layer: Int, steps: [Step]) -> [CacheSlot] {
        var slots: [CacheSlot] = []
        slots.reserveCapacity(steps.count * config.kvHeadCount)
        for step in steps {
            for head in 0..<config.kvHeadCount { slots.append(step.state.slot(layer: layer, head: head)) }
        }
        return slots
    }

    /// Asks for the KV cache of the attention unit `thread` starts with, while the product before
    /// attention computes: every later unit is fetched while the one before it computes, but the
    /// first had nothing before it (in-process A/B at eight sequences: ~1% off a step).
    private func prefetchFirstUnit(_ plan: AttentionPlan, thread: Int, slots: [CacheSlot], positions: [Int]) {
        let units = positions.count * plan.unitsPerToken
        let work = units * thread / pool.threadCount
        guard work < units else { return }
        let unit = attentionUnit(work, plan: plan, slots: slots, positions: positions)
        guard unit.slot.format == .bytes else { return }
        llmk_prefetch_kv8(unit.slot.byteView(count: unit.count), Int32(config.headDimension))
    }

    /// Attention unit `work`: its token, its KV head, the cache slot it reads and how many positions
    /// it attends to (with the token's own, whose key and value it stores first).
    private func attentionUnit(
        _ work: Int, plan: AttentionPlan, slots: [CacheSlot], positions: [Int]
    ) -> (token: Int, kvHead: Int, slot: CacheSlot, count: Int) {
        let group = config.headCount / config.kvHeadCount
        let token = work / plan.unitsPerToken, kvHead = work % plan.unitsPerToken * plan.together / group
        return (token, kvHead, slots[token * config.kvHeadCount + kvHead], positions[token] + 1)
    }

    /// RoPE on token `token`'s query heads of `kvHeads`' groups and on those KV heads' keys, which are
    /// stored with their values in the token's cache slots.
    private func rotateAndStore(
        token: Int, kvHeads: Range<Int>, slots: [CacheSlot], positions: [Int], scratch: ForwardScratch
    ) {
        let headDimension = config.headDimension, group = config.headCount / config.kvHeadCount
        let rotation = scratch.rotation + token * headDimension
        rotate(scratch.query + token * config.embeddingLength + kvHeads.lowerBound * group * headDimension,
               heads: kvHeads.count * group, rotation: rotation)
        for head in kvHeads {
            let row = token * config.kvDimension + head * headDimension
            rotate(scratch.key + row, heads: 1, rotation: rotation)
            slots[token * config.kvHeadCount + head].store(position: positions[token], key: scratch.key + row,
                                                           value: scratch.value + row)
        }
    }

    /// Attention of every token over its sequence so far, into `scratch.attentionOut`, unit by unit
    /// as `plan` says. The same arithmetic per head either way: over the 8-bit cache in the
    /// blockwise order, llama.cpp's over its half-precision cache in llama.cpp's.
    private func attention(_ plan: AttentionPlan, slots: [CacheSlot], positions: [Int], scratch: ForwardScratch) {
        let headDimension = config.headDimension, together = plan.together, unitsPerToken = plan.unitsPerToken
        let scale = 1 / Float(headDimension).squareRoot()
        let units = positions.count * unitsPerToken
        pool.runShared(units) { thread, share in
            let scores = scratch.scores + thread * scratch.scoresPerThread
            for work in share {
                let (token, kvHead, slot, cached) = attentionUnit(work, plan: plan, slots: slots, positions: positions)
                let column = work % unitsPerToken * together * headDimension
                let offset = token * config.embeddingLength + column
                if plan.rotatesAndStores {
                    rotateAndStore(token: token, kvHeads: kvHead..<kvHead + 1, slots: slots, positions: positions,
                                   scratch: scratch)
                }
                // The next unit's cache is fetched towards the processor while this one computes
                // (the next piece of a thread's share mostly starts where this one ends).
                let upcoming = work + 1 < units
                    ? attentionUnit(work + 1, plan: plan, slots: slots, positions: positions) : nil
                switch slot.format {
                case .half:
                    let cache = slot.halfView(count: cached)
                    let next = upcoming.map { $0.slot.halfView(count: $0.count) }
                    llmk_attention(Int32(together), scratch.query + offset, cache.keys, cache.values, Int32(headDimension),
                                   Int32(headDimension), cache.count, scale, scores, scratch.attentionOut + offset,
                                   next ?? llmk_cache_view())
                case .bytes:
                    let next = upcoming.map { $0.slot.byteView(count: $0.count) }
                    llmk_attention_kv8(Int32(together), scratch.query + offset, slot.byteView(count: cached),
                                       Int32(headDimension), scale, scores, scratch.attentionOut + offset,
                                       next ?? llmk_kv8_view())
                }
                if plan.quantizesOutput {
                    scratch.quantizedEmbedding.quantize(scratch.attentionOut, vectors: token..<token + 1,
                                                        columns: column..<column + together * headDimension)
                }
            }
        }
    }

    /// x += W·input, `input` quantized already: the residual connection after attention and after
    /// the feed-forward block. Each thread adds the rows it just computed, so no thread waits for a
    /// serial pass.
    private func addProjection(
        _ weight: WeightMatrix, of input: UnsafeMutablePointer<Float>, quantized: QuantizedBatch, count: Int,
        scratch: ForwardScratch
    ) {
        let dimension = config.embeddingLength, x = scratch.x, projected = scratch.projected
        parallelMultiply([(weight, projected, nil)], input: .shared(input, quantized), count: count, scratch: scratch,
                         eachShare: { rows in
            // The pointers in locals, not read through `scratch` each time: so the loop vectorizes.
            for b in 0..<count {
                let target = x + b * dimension, source = projected + b * dimension
                for r in rows { target[r] += source[r] }
            }
        })
    }

    /// `body` over the tokens of a batch shared between the threads.
    private func eachTokenRange(_ count: Int, _ body: (Range<Int>) -> Void) {
        pool.runShared(count) { _, tokens in body(tokens) }
    }

    private func eachToken(_ count: Int, _ body: (Int) -> Void) {
        eachTokenRange(count) { tokens in tokens.forEach(body) }
    }

    /// silu(gate·x) ⊙ (up·x) into `scratch.gate`, and its 8-bit form into `scratch.quantizedHidden`:
    /// each thread works on the rows it just computed (whole 32-value blocks), so no thread waits for
    /// a serial pass or reads what the other one wrote.
    private func gatedFeedForward(_ layer: LlamaWeights.Layer, scratch: ForwardScratch, count: Int) {
        let width = config.feedForwardLength
        parallelMultiply([(layer.gate, scratch.gate, nil), (layer.up, scratch.up, nil)],
                         input: .normalized(by: layer.feedForwardNorm), count: count, scratch: scratch, pieceRows: 32,
                         eachShare: { rows in
            for b in 0..<count {
                llmk_swiglu(scratch.gate + b * width, scratch.up + b * width, Int32(rows.lowerBound),
                            Int32(rows.upperBound), Int32(width))
            }
            scratch.quantizedHidden.quantize(scratch.gate, vectors: 0..<count, columns: rows)
        })
    }

    /// A weight matrix, where its product goes, and its bias if it has one.
    private typealias Product = (weight: WeightMatrix, output: UnsafeMutablePointer<Float>, bias: [Float]?)

    /// What a product multiplies: vectors every thread reads, or the residual stream normalized by
    /// `weight` and quantized. A batch's is made by each thread for itself before its first piece:
    /// a few microseconds twice over, instead of a hand-off between the norm and the product and
    /// the other thread's bytes to fetch (in-process A/B at eight sequences: 1–1.5% faster a step
    /// on a quiet machine, 3–5% while another guest slowed one core). A lone vector's is made once,
    /// by the calling thread, before the product: there is no hand-off to save (made twice, one
    /// sequence's step was ~1.5% slower).
    private enum ProductInput {
        case shared(UnsafeMutablePointer<Float>, QuantizedBatch)
        case normalized(by: [Float])
    }

    /// Several products of the same input in one hand-off, shared out in pieces of `pieceRows` rows
    /// (a multiple of the kernels' sixteen-row groups: the smaller, the less a thread waits for the
    /// other's last piece — 16 rather than 32 took 0.5–1% off an eight-sequence step; 32 where a
    /// thread quantizes what it computed, in 32-value blocks): each piece's rows computed and their
    /// biases added, then — for products of equal height, whose pieces are the same rows of every
    /// matrix — `eachShare` run on those rows: work on fresh rows needs no wait for the other
    /// threads. `eachThread` runs on each thread before its first piece.
    private func parallelMultiply(
        _ products: [Product], input: ProductInput, count: Int, scratch: ForwardScratch, pieceRows: Int = 16,
        eachThread: ((Int) -> Void)? = nil, eachShare: ((Range<Int>) -> Void)? = nil
    ) {
        var prepare: ((Int) -> Void)? = nil
        if case .normalized(let weight) = input {
            let normalize = { (thread: Int) in
                let normalized = scratch.normalized(thread: thread)
                self.rmsNorm(scratch.x, tokens: 0..<count, weight: weight, into: normalized)
                scratch.threadQuantized[thread].quantize(normalized, vectors: 0..<count)
            }
            if count == 1 { normalize(0) } else { prepare = normalize }
        }
        if let eachThread {
            let first = prepare
            prepare = { thread in
                first?(thread)
                eachThread(thread)
            }
        }
        func operands(_ thread: Int) -> (UnsafeMutablePointer<Float>, QuantizedBatch) {
            switch input {
            case .shared(let floats, let quantized): (floats, quantized)
            case .normalized:
                // A lone vector's was made by the calling thread for every thread.
                (scratch.normalized(thread: count == 1 ? 0 : thread), scratch.threadQuantized[count == 1 ? 0 : thread])
            }
        }
        func rows(_ blocks: Range<Int>, of height: Int) -> Range<Int> {
            min(height, blocks.lowerBound * pieceRows)..<min(height, blocks.upperBound * pieceRows)
        }
        func multiply(_ product: Product, blocks: Range<Int>, thread: Int) {
            let height = product.weight.rowCount, rows = rows(blocks, of: height)
            let (input, quantized) = operands(thread)
            product.weight.multiply(input: input, quantized: quantized, batch: count, into: product.output,
                                    outputStride: height, rows: rows)
            guard let bias = product.bias else { return }
            for b in 0..<count {
                for r in rows { product.output[b * height + r] += bias[r] }
            }
        }
        let blockCounts = products.map { ($0.weight.rowCount + pieceRows - 1) / pieceRows }
        if let eachShare {
            precondition(products.allSatisfy { $0.weight.rowCount == products[0].weight.rowCount })
            pool.runShared(blockCounts[0], eachThread: prepare) { thread, blocks in
                for product in products { multiply(product, blocks: blocks, thread: thread) }
                eachShare(rows(blocks, of: products[0].weight.rowCount))
            }
        } else {
            // The products' blocks one after another.
            let starts = blockCounts.reduce(into: [0]) { $0.append($0.last! + $1) }
            pool.runShared(starts.last!, eachThread: prepare) { thread, blocks in
                for (index, product) in products.enumerated() {
                    let mine = blocks.clamped(to: starts[index]..<starts[index + 1])
                    if !mine.isEmpty {
                        multiply(product, blocks: mine.lowerBound - starts[index]..<mine.upperBound - starts[index],
                                 thread: thread)
                    }
                }
            }
        }
    }

    /// x / sqrt(mean(x²) + ε) · w for each vector. llama.cpp's order adds the squares one by one in
    /// double, as ggml does; the blockwise order in eight chains of additions side by side, an
    /// eighth as long (`llmk_rms_norm`).
    private func rmsNorm(
        _ x: UnsafeMutablePointer<Float>, tokens: Range<Int>, weight: [Float], into output: UnsafeMutablePointer<Float>
    ) {
        let length = config.embeddingLength
        weight.withUnsafeBufferPointer { weight in
            guard order == .llamaCpp else {
                // Eight lanes in double: summed in sixteen single-precision lanes instead,
                // SmolLM2's logits moved up to 1.2 from llama.cpp's (0.64 in double, in either order).
                let first = tokens.lowerBound * length
                llmk_rms_norm(x + first, Int32(tokens.count), Int32(length), weight.baseAddress!, config.rmsEpsilon,
                              output + first)
                return
            }
            for b in tokens {
                let vector = x + b * length, result = output + b * length
                var sum: Double = 0
                for j in 0..<length { sum += Double(vector[j] * vector[j]) }
                let scale = 1 / (Float(sum / Double(length)) + config.rmsEpsilon).squareRoot()
                for j in 0..<length { result[j] = vector[j] * scale * weight[j] }
            }
        }
    }

    /// cos and sin of position · base^(−2i/d) for each rotary pair i, the angle stepped as ggml does.
    private func fillRotation(_ rotation: UnsafeMutablePointer<Float>, position: Int) {
        let thetaScale = pow(config.ropeFrequencyBase, -2 / Float(config.headDimension))
        var theta = Float(position)
        for pair in 0..<config.headDimension / 2 {
            rotation[2 * pair] = cos(theta)
            rotation[2 * pair + 1] = sin(theta)
            theta *= thetaScale
        }
    }

    private func rotate(_ vector: UnsafeMutablePointer<Float>, heads: Int, rotation: UnsafeMutablePointer<Float>) {
        // Where a pair's second value sits: next to the first, or half a head on.
        let partner = config.rotaryStyle == .adjacentPairs ? 1 : config.headDimension / 2
        llmk_rope(vector, Int32(heads), Int32(config.headDimension), rotation, Int32(partner))
    }
}
