import LLMEngine

/// A residual block of two normalized 3×3 convolutions, with the timestep's embedding added
/// between them in a UNet (none in a VAE) and a 1×1 convolution on the shortcut when the channel
/// count changes. CompVis names in both models; the VAE's epsilon is 1e-6.
struct ResBlock: Sendable {
    enum Naming: Sendable { case unet, vae }

    let norm1: GroupNorm
    var conv1: Conv2D
    var embedding: Linear?
    let norm2: GroupNorm
    var conv2: Conv2D
    var shortcut: Conv2D?

    init(_ weights: Weights, naming: Naming) throws(DiffusionError) {
        switch naming {
        case .unet:
            norm1 = try GroupNorm(weights, "in_layers.0", epsilon: 1e-5)
            conv1 = try Conv2D(weights, "in_layers.2")
            embedding = try Linear(weights, "emb_layers.1")
            norm2 = try GroupNorm(weights, "out_layers.0", epsilon: 1e-5)
            conv2 = try Conv2D(weights, "out_layers.3")
            shortcut = weights.has("skip_connection.weight") ? try Conv2D(weights, "skip_connection") : nil
        case .vae:
            norm1 = try GroupNorm(weights, "norm1", epsilon: 1e-6)
            conv1 = try Conv2D(weights, "conv1")
            embedding = nil
            norm2 = try GroupNorm(weights, "norm2", epsilon: 1e-6)
            conv2 = try Conv2D(weights, "conv2")
            shortcut = weights.has("nin_shortcut.weight") ? try Conv2D(weights, "nin_shortcut") : nil
        }
    }

    var outputChannels: Int { conv2.outputs }

    /// `timestep`: the UNet's timestep embedding after SiLU (nil in a VAE).
    func callAsFunction(_ x: FeatureMap, timestep: [Float]?, pool: ComputePool) -> FeatureMap {
        callAsFunction(frames: [x], timestep: timestep, pool: pool)[0]
    }

    /// Each frame through the block, the convolutions taking the frames together.
    func callAsFunction(frames x: [FeatureMap], timestep: [Float]?, pool: ComputePool) -> [FeatureMap] {
        var h = conv1(frames: x.map { norm1($0, silu: true, pool: pool) }, pool: pool)
        if let embedding, let timestep {
            let shift = embedding(timestep, rows: 1, pool: pool)
            for f in h.indices {
                let pixels = h[f].pixels
                h[f].values.withUnsafeMutableBufferPointer { values in
                    for channel in 0..<shift.count {
                        for i in 0..<pixels { values[channel * pixels + i] += shift[channel] }
                    }
                }
            }
        }
        h = conv2(frames: h.map { norm2($0, silu: true, pool: pool) }, pool: pool)
        let residual = shortcut.map { $0(frames: x, pool: pool) } ?? x
        for f in h.indices { h[f].add(residual[f]) }
        return h
    }
}

extension FeatureMap {
    /// The map as rows of tokens, one per pixel: [pixels × channels].
    func tokenRows() -> [Float] {
        let (channels, pixels) = (channels, pixels)
        return [Float](unsafeUninitializedCapacity: channels * pixels) { rows, initialized in
            values.withUnsafeBufferPointer { planes in
                for c in 0..<channels {
                    for p in 0..<pixels { rows[p * channels + c] = planes[c * pixels + p] }
                }
            }
            initialized = channels * pixels
        }
    }

    /// A map of this one's size from rows of tokens (from row `first` on).
    func fromTokenRows(_ rows: [Float], first: Int = 0, channels: Int) -> FeatureMap {
        let pixels = self.pixels
        let planes = [Float](unsafeUninitializedCapacity: channels * pixels) { planes, initialized in
            rows.withUnsafeBufferPointer { rows in
                let rows = rows.baseAddress! + first * channels
                for p in 0..<pixels {
                    for c in 0..<channels { planes[c * pixels + p] = rows[p * channels + c] }
                }
            }
            initialized = channels * pixels
        }
        return FeatureMap(channels: channels, height: height, width: width, values: planes)
    }

    /// Nearest-neighbour resampling to `height × width`, as PyTorch's `interpolate(mode="nearest")`.
    func resizedNearest(height newHeight: Int, width newWidth: Int) -> FeatureMap {
        var out = FeatureMap(channels: channels, height: newHeight, width: newWidth)
        let rowSource = (0..<newHeight).map { min(height - 1, Int(Float($0) * (Float(height) / Float(newHeight)))) }
        let columnSource = (0..<newWidth).map { min(width - 1, Int(Float($0) * (Float(width) / Float(newWidth)))) }
        out.values.withUnsafeMutableBufferPointer { out in
            values.withUnsafeBufferPointer { input in
                for c in 0..<channels {
                    for y in 0..<newHeight {
                        let source = c * pixels + rowSource[y] * width
                        let target = (c * newHeight + y) * newWidth
                        for x in 0..<newWidth { out[target + x] = input[source + columnSource[x]] }
                    }
                }
            }
        }
        return out
    }
}
