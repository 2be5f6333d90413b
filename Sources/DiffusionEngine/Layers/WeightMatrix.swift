import LLMKernels

/// A layer's weight matrix [outputs × inputs], row-major, in the precision the model was loaded
/// with. Values are replaced, never mutated in place, so copies made for a LoRA share nothing they
/// change.
struct WeightMatrix: Sendable {
    enum Storage: Sendable {
        case float([Float])
        case bfloat16([UInt16])
        /// GGUF blocks, multiplied by the integer kernels (fast mode only).
        case quantized(QuantizedMatrix)
    }

    private(set) var storage: Storage

    init(_ values: [Float], precision: Precision) {
        switch precision {
        case .float32:
            storage = .float(values)
        case .bfloat16:
            storage = .bfloat16([UInt16](unsafeUninitializedCapacity: values.count) { out, count in
                values.withUnsafeBufferPointer { llmk_round_bf16($0.baseAddress!, out.baseAddress!, values.count) }
                count = values.count
            })
        }
    }

    init(quantized matrix: QuantizedMatrix) {
        storage = .quantized(matrix)
    }

    /// What the matrix is kept in (a quantized one, in the fast mode, whose LoRA sums are BF16).
    var precision: Precision {
        if case .float = storage { .float32 } else { .bfloat16 }
    }

    /// The values as floats (BF16 ones widened exactly).
    var floats: [Float] {
        switch storage {
        case .float(let values): values
        case .bfloat16(let values): values.map { Float(bitPattern: UInt32($0) << 16) }
        case .quantized(let matrix): matrix.floats()
        }
    }

    /// This matrix plus `delta` (same shape), in the same precision.
    func adding(_ delta: [Float]) -> WeightMatrix {
        WeightMatrix(zip(floats, delta).map(+), precision: precision)
    }

    /// The matrix as a product's operand.
    func withOperand<R>(_ body: (MatrixProduct.Operand) -> R) -> R {
        switch storage {
        case .float(let values): values.withUnsafeBufferPointer { body(.float($0.baseAddress!)) }
        case .bfloat16(let values): values.withUnsafeBufferPointer { body(.bfloat16($0.baseAddress!)) }
        case .quantized: preconditionFailure("a quantized matrix is multiplied by its own kernels")
        }
    }
}
