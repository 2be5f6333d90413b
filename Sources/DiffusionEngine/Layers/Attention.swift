import Foundation
import LLMEngine

/// Scaled dot-product attention over rows of tokens, head by head: queries [t × width], keys and
/// values [s × width], each head a contiguous slice of the width. With `causal`, token i sees
/// tokens 0...i only (CLIP's text encoder).
enum Attention {
    static func callAsFunction(
        queries: [Float], keys: [Float], values: [Float], queryCount: Int, keyCount: Int, width: Int, heads: Int,
        causal: Bool = false, pool: ComputePool
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
                                    q.baseAddress! + offset, lda: width, k.baseAddress! + offset, ldb: width,
                                    into: scores, ldc: keyCount, m: queryCount, n: keyCount, depth: headWidth, pool: pool)
                                pool.runShared(queryCount) { _, rows in
                                    for row in rows {
                                        softmax(scores + row * keyCount, count: causal ? row + 1 : keyCount,
                                                total: keyCount, scale: scale)
                                    }
                                }
                                MatrixProduct.times(
                                    scores, lda: keyCount, v.baseAddress! + offset, ldb: width,
                                    into: out.baseAddress! + offset, ldc: width, m: queryCount, n: headWidth,
                                    depth: keyCount, pool: pool)
                            }
                        }
                    }
                }
            }
        }
        return out
    }

    /// softmax(scale · row[0..<count]), zeros from `count` to `total`.
    private static func softmax(_ row: UnsafeMutablePointer<Float>, count: Int, total: Int, scale: Float) {
        var maximum = -Float.infinity
        for i in 0..<count { maximum = max(maximum, row[i]) }
        var sum: Float = 0
        for i in 0..<count {
            let e = exp((row[i] - maximum) * scale)
            row[i] = e
            sum += e
        }
        let inverse = 1 / sum
        for i in 0..<count { row[i] *= inverse }
        for i in count..<total { row[i] = 0 }
    }
}
