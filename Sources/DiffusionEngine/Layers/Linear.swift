import LLMEngine

/// y = x·Wᵀ + b over rows of tokens. Also reads a 1×1 convolution's weight ([out, in, 1, 1]), which
/// is the same map (CompVis checkpoints store some projections that way).
struct Linear: Sendable {
    /// The weight's tensor name without `.weight`, by which a LoRA finds the layer.
    var name: String
    var weight: WeightMatrix
    let bias: [Float]?
    let inputs: Int
    let outputs: Int

    init(_ weights: Weights, _ name: String) throws(DiffusionError) {
        guard let shape = weights.shape(name + ".weight") else { throw .missingTensor(weights.prefix + name + ".weight") }
        guard shape.count >= 2, shape.dropFirst(2).allSatisfy({ $0 == 1 }) else {
            throw .unsupported("\(weights.prefix)\(name).weight has shape \(shape); a linear layer's was expected")
        }
        self.name = weights.prefix + name
        outputs = shape[0]
        inputs = shape[1]
        if let quantized = weights.quantizedMatrix(name + ".weight") {
            weight = WeightMatrix(quantized: quantized)
        } else {
            weight = WeightMatrix(try weights.tensor(name + ".weight").values, precision: weights.precision)
        }
        bias = weights.has(name + ".bias") ? try weights.tensor(name + ".bias").values : nil
    }

    /// A layer from rows of a larger matrix (OpenCLIP packs its queries, keys and values in one).
    init(name: String, weight: ArraySlice<Float>, bias: ArraySlice<Float>?, outputs: Int, precision: Precision) {
        self.name = name
        self.weight = WeightMatrix(Array(weight), precision: precision)
        self.bias = bias.map { Array($0) }
        self.outputs = outputs
        inputs = weight.count / outputs
    }

    /// `rows` rows of `inputs` values in, `rows` rows of `outputs` out.
    func callAsFunction(_ x: [Float], rows: Int, pool: ComputePool) -> [Float] {
        var y = [Float](repeating: 0, count: rows * outputs)
        if let bias {
            for row in 0..<rows { y.replaceSubrange(row * outputs..<(row + 1) * outputs, with: bias) }
        }
        multiply(x, rows: rows, into: &y, accumulate: bias != nil, pool: pool)
        return y
    }

    /// Adds this layer's output to `residual` in place: the bias, then the product accumulated
    /// into the residual rows, with no separate output array or pass over it.
    func add(_ x: [Float], rows: Int, to residual: inout [Float], pool: ComputePool) {
        precondition(residual.count == rows * outputs, "a residual must have the layer's output shape")
        if let bias {
            residual.withUnsafeMutableBufferPointer { y in
                for row in 0..<rows {
                    for i in 0..<outputs { y[row * outputs + i] += bias[i] }
                }
            }
        }
        multiply(x, rows: rows, into: &residual, accumulate: true, pool: pool)
    }

    private func multiply(_ x: [Float], rows: Int, into y: inout [Float], accumulate: Bool, pool: ComputePool) {
        precondition(x.count == rows * inputs, "a linear layer's input rows must be its width")
        if case .quantized(let matrix) = weight.storage {
            return x.withUnsafeBufferPointer { x in
                y.withUnsafeMutableBufferPointer { y in
                    matrix.multiply(x.baseAddress!, rows: rows, into: y.baseAddress!, accumulate: accumulate, pool: pool)
                }
            }
        }
        x.withUnsafeBufferPointer { x in
            weight.withOperand { w in
                y.withUnsafeMutableBufferPointer { y in
                    MatrixProduct.timesTransposed(
                        .float(x.baseAddress!), lda: inputs, w, ldb: inputs, into: y.baseAddress!, ldc: outputs,
                        m: rows, n: outputs, depth: inputs, accumulate: accumulate, pool: pool)
                }
            }
        }
    }
}
