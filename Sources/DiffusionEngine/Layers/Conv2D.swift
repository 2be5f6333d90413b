import LLMEngine

/// A 2-D convolution with square kernels, zero padding and a stride, over one feature map: the
/// input's patches are laid out one output pixel per row (im2col) and multiplied by the weight
/// matrix [out, in·k·k]; a 1×1 convolution multiplies the map directly.
struct Conv2D: Sendable {
    /// The weight's tensor name without `.weight`, by which a LoRA finds the layer.
    let name: String
    var weight: [Float]
    let bias: [Float]?
    let inputs: Int
    let outputs: Int
    let kernel: Int
    let stride: Int
    let padding: Int

    init(_ weights: Weights, _ name: String, stride: Int = 1) throws(DiffusionError) {
        let w = try weights.tensor(name + ".weight")
        guard w.shape.count == 4, w.shape[2] == w.shape[3] else {
            throw .unsupported("\(weights.prefix)\(name).weight has shape \(w.shape); a square convolution's was expected")
        }
        self.name = weights.prefix + name
        outputs = w.shape[0]
        inputs = w.shape[1]
        kernel = w.shape[2]
        self.stride = stride
        padding = kernel / 2
        weight = w.values
        bias = weights.has(name + ".bias") ? try weights.tensor(name + ".bias").values : nil
    }

    func callAsFunction(_ x: FeatureMap, pool: ComputePool) -> FeatureMap {
        precondition(x.channels == inputs, "a convolution's input must have its channel count")
        let height = (x.height + 2 * padding - kernel) / stride + 1
        let width = (x.width + 2 * padding - kernel) / stride + 1
        let pixels = height * width
        var y = [Float](repeating: 0, count: outputs * pixels)
        if let bias {
            for o in 0..<outputs {
                for p in 0..<pixels { y[o * pixels + p] = bias[o] }
            }
        }
        let depth = inputs * kernel * kernel
        y.withUnsafeMutableBufferPointer { y in
            weight.withUnsafeBufferPointer { w in
                if kernel == 1 && stride == 1 {
                    x.values.withUnsafeBufferPointer { x in
                        MatrixProduct.times(
                            w.baseAddress!, lda: inputs, x.baseAddress!, ldb: pixels, into: y.baseAddress!, ldc: pixels,
                            m: outputs, n: pixels, depth: inputs, accumulate: true, pool: pool)
                    }
                    return
                }
                let patches = patchRows(x, height: height, width: width, pool: pool)
                patches.withUnsafeBufferPointer { patches in
                    MatrixProduct.timesTransposed(
                        w.baseAddress!, lda: depth, patches.baseAddress!, ldb: depth, into: y.baseAddress!, ldc: pixels,
                        m: outputs, n: pixels, depth: depth, accumulate: true, pool: pool)
                }
            }
        }
        return FeatureMap(channels: outputs, height: height, width: width, values: y)
    }

    /// Row p holds the input values under output pixel p's kernel, ordered (channel, dy, dx) as the
    /// weight's rows are; zeros outside the input.
    private func patchRows(_ x: FeatureMap, height: Int, width: Int, pool: ComputePool) -> [Float] {
        let depth = inputs * kernel * kernel
        let (kernel, stride, padding, inputs) = (kernel, stride, padding, inputs)
        return [Float](unsafeUninitializedCapacity: height * width * depth) { rows, initialized in
            let rows = rows.baseAddress!
            x.values.withUnsafeBufferPointer { input in
                pool.runShared(height) { _, outputRows in
                    for oy in outputRows {
                        for ox in 0..<width {
                            var out = rows + (oy * width + ox) * depth
                            for c in 0..<inputs {
                                let plane = input.baseAddress! + c * x.height * x.width
                                for dy in 0..<kernel {
                                    let iy = oy * stride + dy - padding
                                    for dx in 0..<kernel {
                                        let ix = ox * stride + dx - padding
                                        out.pointee = iy >= 0 && iy < x.height && ix >= 0 && ix < x.width
                                            ? plane[iy * x.width + ix] : 0
                                        out += 1
                                    }
                                }
                            }
                        }
                    }
                }
            }
            initialized = height * width * depth
        }
    }
}
