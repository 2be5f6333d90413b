import LLMKernels
import Testing

/// The diffusion engine's float products: every instruction-set path gives the same bits (one fused
/// multiply-add per k, in order, per output), and the values are the products, against sums in
/// double. Shapes cover partial tiles, k-blocks and the accumulate flag.
struct FloatGemmTests {
    struct Shape: Sendable, CustomStringConvertible {
        var m: Int, n: Int, depth: Int
        var description: String { "\(m)×\(n)×\(depth)" }
    }

    static let shapes = [Shape(m: 1, n: 1, depth: 1), Shape(m: 9, n: 33, depth: 7), Shape(m: 8, n: 32, depth: 256),
                         Shape(m: 13, n: 70, depth: 600), Shape(m: 3, n: 5, depth: 0), Shape(m: 77, n: 40, depth: 257)]

    static func values(_ count: Int, seed: UInt32) -> [Float] {
        var state = seed
        return (0..<count).map { _ in
            state = state &* 1_664_525 &+ 1_013_904_223
            return Float(Int32(bitPattern: state) >> 8) / Float(1 << 23)
        }
    }

    static func product(level: Int, transposed: Bool, _ shape: Shape, accumulate: Bool) -> [Float] {
        let a = values(shape.m * shape.depth, seed: 1), b = values(shape.n * shape.depth, seed: 2)
        var c = accumulate ? values(shape.m * shape.n, seed: 3) : [Float](repeating: .nan, count: shape.m * shape.n)
        llmk_sgemm_at_level(Int32(level), transposed ? 1 : 0, Int32(shape.m), Int32(shape.n), Int32(shape.depth), a,
                            Int32(shape.depth), b, Int32(transposed ? shape.depth : shape.n), &c, Int32(shape.n),
                            accumulate ? 1 : 0)
        return c
    }

    @Test(arguments: shapes)
    func everyPathGivesTheSameBitsAndTheRightValues(_ shape: Shape) {
        for transposed in [false, true] {
            for accumulate in [false, true] {
                let portable = Self.product(level: 0, transposed: transposed, shape, accumulate: accumulate)
                for level in 1...2 where level <= Int(llmk_best_level()) {
                    let fast = Self.product(level: level, transposed: transposed, shape, accumulate: accumulate)
                    #expect(fast.map(\.bitPattern) == portable.map(\.bitPattern), "level \(level), \(transposed), \(accumulate)")
                }
                let a = Self.values(shape.m * shape.depth, seed: 1), b = Self.values(shape.n * shape.depth, seed: 2)
                let start = accumulate ? Self.values(shape.m * shape.n, seed: 3) : [Float](repeating: 0, count: shape.m * shape.n)
                for i in 0..<shape.m {
                    for j in 0..<shape.n {
                        var sum = Double(start[i * shape.n + j])
                        for k in 0..<shape.depth {
                            let bValue = transposed ? b[j * shape.depth + k] : b[k * shape.n + j]
                            sum += Double(a[i * shape.depth + k]) * Double(bValue)
                        }
                        #expect(abs(Double(portable[i * shape.n + j]) - sum) <= 1e-5 * (1 + Double(shape.depth)))
                    }
                }
            }
        }
    }
}
