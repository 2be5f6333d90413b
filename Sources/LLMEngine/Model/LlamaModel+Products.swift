import Foundation
import LLMKernels

/// The matrix products and norms of a forward pass, and how their rows are shared out among the
/// compute threads.
extension LlamaModel {
    /// x += W·input, `input` quantized already: the residual connection after attention and after
    /// the feed-forward block. Each thread adds the rows it just computed, so no thread waits for a
    /// serial pass. With `norm` (Gemma's post-norms) W·input is normalized first, which needs whole
    /// vectors: the threads add token by token after the product.
    func addProjection(
        _ weight: WeightMatrix, of input: UnsafeMutablePointer<Float>, quantized: QuantizedBatch, count: Int,
        scratch: ForwardScratch, norm: [Float]? = nil
    ) {
        let dimension = config.embeddingLength, x = scratch.x, projected = scratch.projected
        if let norm {
            parallelMultiply([(weight, projected, nil)], input: .shared(input, quantized), count: count, scratch: scratch)
            eachTokenRange(count) { tokens in
                rmsNorm(projected, tokens: tokens, weight: norm, into: projected)
                for b in tokens {
                    let target = x + b * dimension, source = projected + b * dimension
                    for r in 0..<dimension { target[r] += source[r] }
                }
            }
            return
        }
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
    func eachTokenRange(_ count: Int, _ body: (Range<Int>) -> Void) {
        pool.runShared(count) { _, tokens in body(tokens) }
    }

    func eachToken(_ count: Int, _ body: (Int) -> Void) {
        eachTokenRange(count) { tokens in tokens.forEach(body) }
    }

    /// act(gate·x) ⊙ (up·x) into `scratch.gate`, and its 8-bit form into `scratch.quantizedHidden`:
    /// each thread works on the rows it just computed (whole 32-value blocks), so no thread waits for
    /// a serial pass or reads what the other one wrote.
    func gatedFeedForward(_ layer: LlamaWeights.Layer, scratch: ForwardScratch, count: Int) {
        let width = config.feedForwardLength
        parallelMultiply([(layer.gate, scratch.gate, nil), (layer.up, scratch.up, nil)],
                         input: .normalized(by: layer.feedForwardNorm), count: count, scratch: scratch, pieceRows: 32,
                         eachShare: { rows in
            for b in 0..<count {
                let gate = scratch.gate + b * width, up = scratch.up + b * width
                switch self.config.architecture.activation {
                case .silu: llmk_swiglu(gate, up, Int32(rows.lowerBound), Int32(rows.upperBound), Int32(width))
                case .geluTanh: llmk_geglu_tanh(gate, up, Int32(rows.lowerBound), Int32(rows.upperBound))
                }
            }
            scratch.quantizedHidden.quantize(scratch.gate, vectors: 0..<count, columns: rows)
        })
    }

    /// A weight matrix, where its product goes, and its bias if it has one.
    typealias Product = (weight: WeightMatrix, output: UnsafeMutablePointer<Float>, bias: [Float]?)

    /// What a product multiplies: vectors every thread reads, or the residual stream normalized by
    /// `weight` and quantized. A batch's is made by each thread for itself before its first piece:
    /// a few microseconds twice over, instead of a hand-off between the norm and the product and
    /// the other thread's bytes to fetch. A lone vector's is made once, by the calling thread,
    /// before the product: there is no hand-off to save, and making it twice cost more.
    enum ProductInput {
        case shared(UnsafeMutablePointer<Float>, QuantizedBatch)
        case normalized(by: [Float])
    }

    /// Several products of the same input in one hand-off, shared out in pieces of `pieceRows` rows
    /// (a multiple of the kernels' sixteen-row groups: the smaller, the less a thread waits for the
    /// other's last piece; 32 where a thread quantizes what it computed, in 32-value blocks; see
    /// docs/benchmarks.md): each piece's rows computed and their
    /// biases added, then — for products of equal height, whose pieces are the same rows of every
    /// matrix — `eachShare` run on those rows: work on fresh rows needs no wait for the other
    /// threads. `eachThread` runs on each thread before its first piece.
    func parallelMultiply(
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

    /// x / sqrt(mean(x²) + ε) · w for each vector of `length` (the embedding's unless given; `output`
    /// may be `x`). llama.cpp's order adds the squares one by one in double, as ggml does; the
    /// blockwise order in eight chains of additions side by side, an eighth as long (`llmk_rms_norm`).
    func rmsNorm(
        _ x: UnsafeMutablePointer<Float>, tokens: Range<Int>, length: Int? = nil, weight: [Float],
        into output: UnsafeMutablePointer<Float>
    ) {
        let length = length ?? config.embeddingLength
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
}
