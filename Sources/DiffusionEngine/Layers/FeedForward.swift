import LLMEngine
import LLMKernels

/// The transformers' GEGLU feed-forward (diffusers' `FeedForward` with `geglu`): a projection to
/// twice the inner width, the first half times GELU of the second, a projection back, added to
/// the residual rows. Rows go through in pieces: the projection is eight times as wide as the
/// tokens, and an animation's sixteen thousand rows at once would make it hundreds of megabytes
/// that no cache holds (that had made AnimateDiff's feed-forwards more than twice as slow).
enum FeedForward {
    static let piece = 1024

    static func add(
        _ normed: [Float], rows count: Int, through input: Linear, _ output: Linear, to tokens: inout [Float], pool: ComputePool,
        piece: Int = piece
    ) {
        let width = input.inputs
        for start in stride(from: 0, to: count, by: piece) {
            let rows = min(piece, count - start)
            let projected = input(Array(normed[(start * width)..<((start + rows) * width)]), rows: rows, pool: pool)
            let inner = projected.count / rows / 2
            var gated = [Float](repeating: 0, count: rows * inner)
            gated.withUnsafeMutableBufferPointer { gated in
                projected.withUnsafeBufferPointer { projected in
                    let (gated, projected) = (gated.baseAddress!, projected.baseAddress!)
                    pool.runShared(rows) { _, range in
                        llmk_geglu(projected + range.lowerBound * 2 * inner, Int32(range.count), Int32(inner),
                                   gated + range.lowerBound * inner)
                    }
                }
            }
            guard rows < count else { return output.add(gated, rows: rows, to: &tokens, pool: pool) }
            let result = output(gated, rows: rows, pool: pool)
            tokens.withUnsafeMutableBufferPointer { tokens in
                let destination = tokens.baseAddress! + start * output.outputs
                for i in 0..<result.count { destination[i] += result[i] }
            }
        }
    }
}
