import LLMEngine
import LLMKernels

/// Float matrix products on the engine's threads, through the C kernel. The output's columns are
/// split between the threads (or its rows, when it has more of those), so each thread writes its
/// own part of C.
enum MatrixProduct {
    /// C[m×n] (+)= A[m×depth] · Bᵀ where B is n×depth (weights as stored, keys in attention).
    static func timesTransposed(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, into c: UnsafeMutablePointer<Float>,
        ldc: Int, m: Int, n: Int, depth: Int, accumulate: Bool = false, pool: ComputePool
    ) {
        run(transposed: true, a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, depth: depth, accumulate: accumulate, pool: pool)
    }

    /// C[m×n] (+)= A[m×depth] · B where B is depth×n.
    static func times(
        _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, into c: UnsafeMutablePointer<Float>,
        ldc: Int, m: Int, n: Int, depth: Int, accumulate: Bool = false, pool: ComputePool
    ) {
        run(transposed: false, a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, depth: depth, accumulate: accumulate, pool: pool)
    }

    private static func run(
        transposed: Bool, _ a: UnsafePointer<Float>, lda: Int, _ b: UnsafePointer<Float>, ldb: Int,
        _ c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int, depth: Int, accumulate: Bool, pool: ComputePool
    ) {
        let flags = (transposed ? Int32(1) : 0, accumulate ? Int32(1) : 0)
        // Pieces of about 64 columns or 16 rows: small enough to share out, large enough to use
        // a vector's width.
        if n >= m {
            let piece = 64
            pool.runShared((n + piece - 1) / piece) { _, pieces in
                let start = pieces.lowerBound * piece, end = min(n, pieces.upperBound * piece)
                let bStart = transposed ? b + start * ldb : b + start
                llmk_sgemm(flags.0, Int32(m), Int32(end - start), Int32(depth), a, Int32(lda), bStart, Int32(ldb),
                           c + start, Int32(ldc), flags.1)
            }
        } else {
            let piece = 16
            pool.runShared((m + piece - 1) / piece) { _, pieces in
                let start = pieces.lowerBound * piece, end = min(m, pieces.upperBound * piece)
                llmk_sgemm(flags.0, Int32(end - start), Int32(n), Int32(depth), a + start * lda, Int32(lda), b,
                           Int32(ldb), c + start * ldc, Int32(ldc), flags.1)
            }
        }
    }
}
