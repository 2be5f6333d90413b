import LLMEngine
import LLMKernels

/// Matrix products on the engine's threads, through the C kernels. The output's columns are split
/// between the threads (or its rows, when it has more of those), so each thread writes its own part
/// of C.
enum MatrixProduct {
    /// An operand: floats, or BF16 values (weights loaded in BF16).
    enum Operand {
        case float(UnsafePointer<Float>)
        case bfloat16(UnsafePointer<UInt16>)

        func advanced(by count: Int) -> Operand {
            switch self {
            case .float(let p): .float(p + count)
            case .bfloat16(let p): .bfloat16(p + count)
            }
        }

        var isFloat: Bool { if case .float = self { true } else { false } }
        var raw: UnsafeRawPointer {
            switch self {
            case .float(let p): UnsafeRawPointer(p)
            case .bfloat16(let p): UnsafeRawPointer(p)
            }
        }
    }

    /// C[m×n] (+)= A[m×depth] · Bᵀ where B is n×depth (weights as stored, keys in attention).
    /// With `.bfloat16` (or a BF16 operand) both operands are rounded to BF16 and summed in float.
    static func timesTransposed(
        _ a: Operand, lda: Int, _ b: Operand, ldb: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int, n: Int,
        depth: Int, accumulate: Bool = false, precision: Precision = .float32, pool: ComputePool
    ) {
        run(transposed: true, a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, depth: depth, accumulate: accumulate,
            precision: precision, pool: pool)
    }

    /// C[m×n] (+)= A[m×depth] · B where B is depth×n (floats).
    static func times(
        _ a: Operand, lda: Int, _ b: UnsafePointer<Float>, ldb: Int, into c: UnsafeMutablePointer<Float>, ldc: Int, m: Int,
        n: Int, depth: Int, accumulate: Bool = false, precision: Precision = .float32, pool: ComputePool
    ) {
        run(transposed: false, a, lda: lda, .float(b), ldb: ldb, c, ldc: ldc, m: m, n: n, depth: depth,
            accumulate: accumulate, precision: precision, pool: pool)
    }

    private static func run(
        transposed: Bool, _ a: Operand, lda: Int, _ b: Operand, ldb: Int, _ c: UnsafeMutablePointer<Float>, ldc: Int,
        m: Int, n: Int, depth: Int, accumulate: Bool, precision: Precision, pool: ComputePool
    ) {
        if precision == .float32, case .float(let a) = a, case .float(let b) = b {
            floatProduct(transposed: transposed, a, lda: lda, b, ldb: ldb, c, ldc: ldc, m: m, n: n, depth: depth,
                         accumulate: accumulate, pool: pool)
            return
        }
        var flags: Int32 = transposed ? Int32(LLMK_GEMM_B_TRANSPOSED) : 0
        if accumulate { flags |= Int32(LLMK_GEMM_ACCUMULATE) }
        if !a.isFloat { flags |= Int32(LLMK_GEMM_A_BF16) }
        if !b.isFloat { flags |= Int32(LLMK_GEMM_B_BF16) }
        shareLongerSide(m: m, n: n, pool: pool) { rows, columns in
            let bStart = b.advanced(by: transposed ? columns.lowerBound * ldb : columns.lowerBound)
            llmk_gemm_bf16(flags, Int32(rows.count), Int32(columns.count), Int32(depth),
                           a.advanced(by: rows.lowerBound * lda).raw, Int32(lda), bStart.raw, Int32(ldb),
                           c + rows.lowerBound * ldc + columns.lowerBound, Int32(ldc))
        }
    }

    /// The BF16 kernels' split of C[m×n] between the threads: one piece per thread along the longer
    /// side (whole 32-column panels or 8-row panels), since each call packs both of its operands
    /// and large pieces amortise that; the other side whole.
    static func shareLongerSide(m: Int, n: Int, pool: ComputePool, body: (_ rows: Range<Int>, _ columns: Range<Int>) -> Void) {
        let threads = max(1, pool.threadCount)
        let (length, panel) = n >= m ? (n, 32) : (m, 8)
        let piece = ((length + threads - 1) / threads + panel - 1) / panel * panel
        pool.runShared((length + piece - 1) / piece) { _, pieces in
            let part = pieces.lowerBound * piece..<min(length, pieces.upperBound * piece)
            if n >= m { body(0..<m, part) } else { body(part, 0..<n) }
        }
    }

    private static func floatProduct(
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
