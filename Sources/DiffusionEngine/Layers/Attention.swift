import Foundation
import LLMEngine
import LLMKernels

/// Scaled dot-product attention over rows of tokens, head by head: queries [t × width], keys and
/// values [s × width], each head a contiguous slice of the width. With `causal`, token i sees
/// tokens 0...i only (CLIP's text encoder).
enum Attention {
    static func callAsFunction(
        queries: [Float], keys: [Float], values: [Float], queryCount: Int, keyCount: Int, width: Int, heads: Int,
        causal: Bool = false, precision: Precision = .float32, pool: ComputePool
    ) -> [Float] {
        let headWidth = width / heads
        let scale = 1 / Float(headWidth).squareRoot()
        if precision == .bfloat16 && !causal {
            return tiled(queries: queries, keys: keys, values: values, queryCount: queryCount, keyCount: keyCount,
                         width: width, heads: heads, scale: scale, pool: pool)
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
        scale: Float, pool: ComputePool
    ) -> [Float] {
        let headWidth = width / heads
        var out = [Float](repeating: 0, count: queryCount * width)
        let piece = max(64, (queryCount + pool.threadCount - 1) / pool.threadCount)
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { out in
                        let (q, k, v, out) = (q.baseAddress!, k.baseAddress!, v.baseAddress!, out.baseAddress!)
                        for head in 0..<heads {
                            let offset = head * headWidth
                            pool.runShared((queryCount + piece - 1) / piece) { _, pieces in
                                let start = pieces.lowerBound * piece, end = min(queryCount, pieces.upperBound * piece)
                                llmk_attention_bf16(q + start * width + offset, k + offset, v + offset, Int32(width),
                                                    Int32(end - start), Int32(keyCount), Int32(headWidth), scale,
                                                    out + start * width + offset, Int32(width))
                            }
                        }
                    }
                }
            }
        }
        return out
    }
}
