import Foundation
import LLMEngine
import LLMKernels

/// Scaled dot-product attention over rows of tokens, head by head: queries [t × width], keys and
/// values [s × width], each head a contiguous slice of the width. With `causal`, token i sees
/// tokens 0...i only (CLIP's text encoder). With `frames`, that many independent attentions one
/// after the other in the rows (each frame's queries attend to its own keys, or with
/// `sharedKeys` all of them to the same keys: the text, in cross-attention).
enum Attention {
    static func callAsFunction(
        queries: [Float], keys: [Float], values: [Float], queryCount: Int, keyCount: Int, width: Int, heads: Int,
        frames: Int = 1, sharedKeys: Bool = false, causal: Bool = false, precision: Precision = .float32,
        pool: ComputePool
    ) -> [Float] {
        let headWidth = width / heads
        let scale = 1 / Float(headWidth).squareRoot()
        if precision == .bfloat16 && !causal {
            return tiled(queries: queries, keys: keys, values: values, queryCount: queryCount, keyCount: keyCount,
                         width: width, heads: heads, frames: frames, sharedKeys: sharedKeys, scale: scale, pool: pool)
        }
        if frames > 1 {
            let q = queryCount * width, k = keyCount * width
            return (0..<frames).flatMap { f in
                let keyRange = sharedKeys ? 0..<k : f * k..<(f + 1) * k
                return callAsFunction(
                    queries: Array(queries[f * q..<(f + 1) * q]), keys: Array(keys[keyRange]), values: Array(values[keyRange]),
                    queryCount: queryCount, keyCount: keyCount, width: width, heads: heads, precision: precision, pool: pool)
            }
        }
        var out = [Float](repeating: 0, count: queryCount * width)
        var scores = [Float](repeating: 0, count: queryCount * keyCount)
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { out in
                        scores.withUnsafeMutableBufferPointer { scores in
                            let scores = scores.baseAddress!
                            for head in 0..<heads {
                                let offset = head * headWidth
                                MatrixProduct.timesTransposed(
                                    .float(q.baseAddress! + offset), lda: width, .float(k.baseAddress! + offset),
                                    ldb: width, into: scores, ldc: keyCount, m: queryCount, n: keyCount, depth: headWidth,
                                    precision: precision, pool: pool)
                                pool.runShared(queryCount) { _, rows in
                                    llmk_softmax_rows(scores + rows.lowerBound * keyCount, Int32(rows.count),
                                                      Int32(keyCount), Int32(keyCount), causal ? 1 : 0, scale,
                                                      Int32(rows.lowerBound))
                                }
                                MatrixProduct.times(
                                    .float(scores), lda: keyCount, v.baseAddress! + offset, ldb: width,
                                    into: out.baseAddress! + offset, ldc: width, m: queryCount, n: headWidth,
                                    depth: keyCount, precision: precision, pool: pool)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// The BF16 mode's attention: each head in tiles (`llmk_attention_bf16`), the threads taking
    /// the queries in halves, so no score matrix is ever stored.
    private static func tiled(
        queries: [Float], keys: [Float], values: [Float], queryCount: Int, keyCount: Int, width: Int, heads: Int,
        frames: Int, sharedKeys: Bool, scale: Float, pool: ComputePool
    ) -> [Float] {
        let headWidth = width / heads
        var out = [Float](repeating: 0, count: frames * queryCount * width)
        let piece = max(64, (queryCount + pool.threadCount - 1) / pool.threadCount)
        let pieces = (queryCount + piece - 1) / piece
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { out in
                        let (q, k, v, out) = (q.baseAddress!, k.baseAddress!, v.baseAddress!, out.baseAddress!)
                        for head in 0..<heads {
                            let offset = head * headWidth
                            pool.runShared(frames * pieces) { _, units in
                                for unit in units {
                                    let (f, p) = unit.quotientAndRemainder(dividingBy: pieces)
                                    let start = f * queryCount + p * piece, end = f * queryCount + min(queryCount, (p + 1) * piece)
                                    let keysStart = (sharedKeys ? 0 : f * keyCount) * width + offset
                                    llmk_attention_bf16(q + start * width + offset, k + keysStart, v + keysStart, Int32(width),
                                                        Int32(end - start), Int32(keyCount), Int32(headWidth), scale,
                                                        out + start * width + offset, Int32(width))
                                }
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
