import LLMEngine
import LLMKernels

/// The transformers' GEGLU feed-forward (diffusers' `FeedForward` with `geglu`): a projection to
/// twice the inner width, the first half times GELU of the second, a projection back, added to
/// the residual rows.
enum FeedForward {
    static func add(
        _ normed: [Float], rows count: Int, through input: Linear, _ output: Linear, to tokens: inout [Float], pool: ComputePool
    ) {
        let projected = input(normed, rows: count, pool: pool)
        let inner = projected.count / count / 2
        var gated = [Float](repeating: 0, count: count * inner)
        gated.withUnsafeMutableBufferPointer { gated in
            projected.withUnsafeBufferPointer { projected in
                let (gated, projected) = (gated.baseAddress!, projected.baseAddress!)
                pool.runShared(count) { _, rows in
                    llmk_geglu(projected + rows.lowerBound * 2 * inner, Int32(rows.count), Int32(inner),
                               gated + rows.lowerBound * inner)
                }
            }
        }
        output.add(gated, rows: count, to: &tokens, pool: pool)
    }
}
