import LLMEngine
import LLMKernels

/// A 2-D convolution with square kernels, zero padding and a stride, over one feature map: the
/// input's patches are laid out one output pixel per row (im2col) and multiplied by the weight
/// matrix [out, in·k·k]; a 1×1 convolution multiplies the map directly.
struct Conv2D: Sendable {
    /// The weight's tensor name without `.weight`, by which a LoRA finds the layer.
    let name: String
    var weight: WeightMatrix
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
        weight = WeightMatrix(w.values, precision: weights.precision)
        bias = weights.has(name + ".bias") ? try weights.tensor(name + ".bias").values : nil
    }

    func callAsFunction(_ x: FeatureMap, pool: ComputePool) -> FeatureMap {
        callAsFunction(frames: [x], pool: pool)[0]
    }

    /// The convolution of each frame. In the BF16 mode the frames go through the weights as one
    /// product, so the weights are packed once for all of them rather than once a frame (at an
    /// animation's small deep levels, packing had cost more than the arithmetic).
    func callAsFunction(frames: [FeatureMap], pool: ComputePool) -> [FeatureMap] {
        guard case .bfloat16 = weight.storage else { return frames.map { floatConvolution($0, pool: pool) } }
        let x = frames[0]
        precondition(frames.allSatisfy { $0.channels == inputs && $0.height == x.height && $0.width == x.width },
                     "a convolution's frames must have its channel count and one size")
        let height = (x.height + 2 * padding - kernel) / stride + 1
        let width = (x.width + 2 * padding - kernel) / stride + 1
        let pixels = height * width, columns = frames.count * pixels
        var y = [Float](repeating: 0, count: outputs * columns)
        if let bias {
            y.withUnsafeMutableBufferPointer { y in
                for o in 0..<outputs { (y.baseAddress! + o * columns).update(repeating: bias[o], count: columns) }
            }
        }
        y.withUnsafeMutableBufferPointer { y in
            bfloat16Product(frames, height: height, width: width, into: y.baseAddress!, pool: pool)
        }
        if frames.count == 1 { return [FeatureMap(channels: outputs, height: height, width: width, values: y)] }
        // [outputs × frames·pixels] back to each frame's [outputs × pixels].
        return (0..<frames.count).map { f in
            let values = [Float](unsafeUninitializedCapacity: outputs * pixels) { out, initialized in
                y.withUnsafeBufferPointer { y in
                    for o in 0..<outputs {
                        (out.baseAddress! + o * pixels).update(from: y.baseAddress! + o * columns + f * pixels, count: pixels)
                    }
                }
                initialized = outputs * pixels
            }
            return FeatureMap(channels: outputs, height: height, width: width, values: values)
        }
    }

    private func floatConvolution(_ x: FeatureMap, pool: ComputePool) -> FeatureMap {
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
            weight.withOperand { w in
                if kernel == 1 && stride == 1 {
                    x.values.withUnsafeBufferPointer { x in
                        MatrixProduct.times(
                            w, lda: inputs, x.baseAddress!, ldb: pixels, into: y.baseAddress!, ldc: pixels,
                            m: outputs, n: pixels, depth: inputs, accumulate: true, pool: pool)
                    }
                    return
                }
                let patches = patchRows(x, height: height, width: width, pool: pool)
                patches.withUnsafeBufferPointer { patches in
                    MatrixProduct.timesTransposed(
                        w, lda: depth, .float(patches.baseAddress!), ldb: depth, into: y.baseAddress!, ldc: pixels,
                        m: outputs, n: pixels, depth: depth, accumulate: true, pool: pool)
                }
            }
        }
        return FeatureMap(channels: outputs, height: height, width: width, values: y)
    }

    /// The BF16 kernel reads the inputs' patches block by block itself. The threads split the
    /// output columns, or the output channels where there are more of those (the UNet's deepest
    /// levels): each packs what it multiplies, so a split along the long side packs least.
    private func bfloat16Product(
        _ frames: [FeatureMap], height: Int, width: Int, into y: UnsafeMutablePointer<Float>, pool: ComputePool
    ) {
        let total = frames.count * height * width, depth = inputs * kernel * kernel
        let flags = Int32(LLMK_GEMM_ACCUMULATE | LLMK_GEMM_A_BF16)
        let x = frames[0]
        FeatureMap.withBaseAddresses(frames) { inputs in
            weight.withOperand { w in
                var description = llmk_conv_input(
                    frames: inputs, frame_count: Int32(frames.count), channels: Int32(self.inputs), height: Int32(x.height),
                    width: Int32(x.width), kernel: Int32(kernel), stride: Int32(stride), padding: Int32(padding),
                    out_height: Int32(height), out_width: Int32(width))
                withUnsafePointer(to: &description) { description in
                    MatrixProduct.shareLongerSide(m: outputs, n: total, pool: pool) { rows, columns in
                        llmk_conv_bf16(flags, Int32(rows.count), w.advanced(by: rows.lowerBound * depth).raw, description,
                                       Int32(columns.lowerBound), Int32(columns.count), y + rows.lowerBound * total)
                    }
                }
            }
        }
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
