import Foundation
import LLMEngine
import LLMKernels

/// AnimateDiff's motion module (diffusers' `AnimateDiffTransformer3D`): the frames' maps group-
/// normalized together (each group over its channels, every frame and every pixel), then each
/// pixel's sequence of frames as tokens through transformer blocks of two self-attentions across
/// frames (sinusoidal frame positions added to each attention's input) and a GEGLU feed-forward,
/// projected back and added to the input. Frames attend only to frames at the same pixel.
struct TemporalTransformer: Sendable {
    typealias Block = TransformerBlock

    let norm: GroupNorm
    var projectIn: Linear
    var blocks: [Block]
    var projectOut: Linear
    /// Every released motion module has eight heads.
    let heads = 8

    /// `weights` scoped at one module, under diffusers' names.
    init(_ weights: Weights) throws(DiffusionError) {
        norm = try GroupNorm(weights, "norm", epsilon: 1e-6)
        projectIn = try Linear(weights, "proj_in")
        var blocks: [Block] = []
        while weights.has("transformer_blocks.\(blocks.count).norm1.weight") {
            blocks.append(try Block(weights.scoped("transformer_blocks.\(blocks.count)")))
        }
        guard !blocks.isEmpty else { throw .missingTensor(weights.prefix + "transformer_blocks.0.norm1.weight") }
        self.blocks = blocks
        projectOut = try Linear(weights, "proj_out")
        guard projectIn.outputs % heads == 0 else {
            throw .unsupported("\(weights.prefix): a motion module \(projectIn.outputs) wide does not split into \(heads) heads")
        }
    }

    var channels: Int { projectIn.inputs }

    func callAsFunction(_ frames: [FeatureMap], pool: ComputePool) -> [FeatureMap] {
        let count = frames.count, channels = self.channels, pixels = frames[0].pixels
        let width = projectIn.outputs, rows = pixels * count
        // Channels, then frames, then pixels: one "map" whose groups span every frame.
        var stacked = [Float](repeating: 0, count: channels * rows)
        stacked.withUnsafeMutableBufferPointer { stacked in
            for (f, frame) in frames.enumerated() {
                frame.values.withUnsafeBufferPointer { values in
                    for c in 0..<channels {
                        (stacked.baseAddress! + (c * count + f) * pixels).update(from: values.baseAddress! + c * pixels, count: pixels)
                    }
                }
            }
        }
        let normed = norm(FeatureMap(channels: channels, height: count, width: pixels, values: stacked), pool: pool).values
        // Tokens: pixel by pixel, each pixel's frames in order (a transpose, shared out by channels).
        var input = [Float](repeating: 0, count: rows * channels)
        input.withUnsafeMutableBufferPointer { input in
            normed.withUnsafeBufferPointer { normed in
                let (input, normed) = (input.baseAddress!, normed.baseAddress!)
                pool.runShared(channels) { _, range in
                    for c in range {
                        for r in 0..<rows { input[r * channels + c] = normed[c * rows + (r % count) * pixels + r / count] }
                    }
                }
            }
        }
        var tokens = projectIn(input, rows: rows, pool: pool)
        let positions = Self.positions(frames: count, width: width)
        for block in blocks {
            for (norm, attention) in [(block.norm1, block.attention1), (block.norm2, block.attention2)] {
                var x = norm(tokens, rows: rows, pool: pool)
                x.withUnsafeMutableBufferPointer { x in
                    positions.withUnsafeBufferPointer { positions in
                        for r in 0..<rows {
                            let row = x.baseAddress! + r * width, position = positions.baseAddress! + (r % count) * width
                            for i in 0..<width { row[i] += position[i] }
                        }
                    }
                }
                let attended = Self.acrossFrames(
                    queries: attention.query(x, rows: rows, pool: pool), keys: attention.key(x, rows: rows, pool: pool),
                    values: attention.value(x, rows: rows, pool: pool), frames: count, pixels: pixels, width: width,
                    heads: heads, pool: pool)
                attention.output.add(attended, rows: rows, to: &tokens, pool: pool)
            }
            FeedForward.add(block.norm3(tokens, rows: rows, pool: pool), rows: rows, through: block.feedForwardIn,
                            block.feedForwardOut, to: &tokens, pool: pool)
        }
        let output = projectOut(tokens, rows: rows, pool: pool)
        return frames.enumerated().map { f, frame in
            var out = frame
            out.values.withUnsafeMutableBufferPointer { values in
                output.withUnsafeBufferPointer { output in
                    for p in 0..<pixels {
                        let source = output.baseAddress! + (p * count + f) * channels
                        for c in 0..<channels { values[c * pixels + p] += source[c] }
                    }
                }
            }
            return out
        }
    }

    /// diffusers' `SinusoidalPositionalEmbedding` table: for frame f, sin(f·dᵢ) at even places and
    /// cos(f·dᵢ) at odd ones, dᵢ = exp(2i · −ln 10000 / width), in float as torch builds it.
    static func positions(frames: Int, width: Int) -> [Float] {
        var table = [Float](repeating: 0, count: frames * width)
        let step = Float(-log(10000.0) / Double(width))
        for i in stride(from: 0, to: width, by: 2) {
            let frequency = expf(Float(i) * step)
            for f in 0..<frames {
                let angle = Float(f) * frequency
                table[f * width + i] = sinf(angle)
                if i + 1 < width { table[f * width + i + 1] = cosf(angle) }
            }
        }
        return table
    }

    /// Attention within each pixel's run of `frames` rows (rows pixel by pixel, frames within),
    /// head by head (`llmk_frames_attention`), the pixels shared between the pool's threads.
    static func acrossFrames(
        queries: [Float], keys: [Float], values: [Float], frames: Int, pixels: Int, width: Int, heads: Int, pool: ComputePool
    ) -> [Float] {
        let scale = 1 / Float(width / heads).squareRoot()
        var out = [Float](repeating: 0, count: queries.count)
        queries.withUnsafeBufferPointer { q in
            keys.withUnsafeBufferPointer { k in
                values.withUnsafeBufferPointer { v in
                    out.withUnsafeMutableBufferPointer { out in
                        let (q, k, v, out) = (q.baseAddress!, k.baseAddress!, v.baseAddress!, out.baseAddress!)
                        pool.runShared(pixels) { _, range in
                            llmk_frames_attention(q, k, v, Int32(frames), Int32(width), Int32(heads), scale,
                                                  Int32(range.lowerBound), Int32(range.count), out)
                        }
                    }
                }
            }
        }
        return out
    }
}
