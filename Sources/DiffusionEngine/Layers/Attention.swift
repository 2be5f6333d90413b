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
}
