import LLMEngine
import LLMKernels

/// A GGUF weight matrix kept in its quantized blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0) and multiplied
/// by the chat engine's integer kernels, the activations quantized to 8 bits per 32-value block as
/// stable-diffusion.cpp (ggml) quantizes them: a quarter to a half of BF16's memory. The file's
/// blocks are rearranged once, at load, into the kernels' layout (sixteen rows at a time).
final class QuantizedMatrix: @unchecked Sendable {
    // @unchecked: the rearranged copy is written once in init and only read afterwards; `file`
    // keeps the mapping `tensor` points into alive.
    let file: GGUFFile
    let tensor: GGUFTensor
    private let type: Int32
    private let blocks: Int
    private let interleaved: UnsafeMutableRawBufferPointer

    var outputs: Int { tensor.rowCount }
    var inputs: Int { tensor.rowLength }

    /// nil where the kernels have no integer path for the tensor (other types, rows that are not
    /// whole blocks).
    init?(_ tensor: GGUFTensor, in file: GGUFFile) {
        guard tensor.rowLength % 32 == 0 else { return nil }
        let type = Int32(tensor.type.rawValue), blocks = tensor.rowLength / 32
        let size = llmk_interleaved_size(type, Int32(tensor.rowCount), Int32(blocks))
        guard size > 0 else { return nil }
        self.file = file
        self.tensor = tensor
        self.type = type
        self.blocks = blocks
        interleaved = .allocate(byteCount: size, alignment: 64)
        llmk_interleave(type, tensor.bytes.baseAddress!, tensor.rowBytes, Int32(tensor.rowCount), Int32(blocks),
                        interleaved.baseAddress!)
        file.releasePages(of: tensor)
    }

    deinit { interleaved.deallocate() }

    /// The weights as floats (a LoRA's sum is taken there).
    func floats() -> [Float] { tensor.floats() }

    /// y[r·outputs + o] = x_r · row o (plus what y holds, when `accumulate`) for the `rows` rows
    /// of x, each `inputs` long.
    func multiply(_ x: UnsafePointer<Float>, rows: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool, pool: ComputePool) {
        let inputs = self.inputs, outputs = self.outputs, blocks = self.blocks
        var values = [Int8](repeating: 0, count: rows * inputs)
        var scales = [Float](repeating: 0, count: rows * blocks), sums = scales
        var totals = [Int32](repeating: 0, count: rows * blocks)
        values.withUnsafeMutableBufferPointer { values in
            scales.withUnsafeMutableBufferPointer { scales in
                sums.withUnsafeMutableBufferPointer { sums in
                    totals.withUnsafeMutableBufferPointer { totals in
                        let (v, s, u, t) = (values.baseAddress!, scales.baseAddress!, sums.baseAddress!, totals.baseAddress!)
                        // Tokens in pieces small enough that a piece's 8-bit rows stay in cache
                        // while every weight row passes over them.
                        let piece = 32
                        pool.runShared((rows + piece - 1) / piece) { _, items in
                            var scratch = accumulate ? [Float](repeating: 0, count: piece * outputs) : []
                            for item in items {
                                let start = item * piece, count = min(piece, rows - start)
                                llmk_quantize_rows(x + start * inputs, Int32(count), Int32(inputs), Int32(inputs),
                                                   v + start * inputs, s + start * blocks, u + start * blocks,
                                                   t + start * blocks)
                                let view = llmk_activations(values: v + start * inputs, scales: s + start * blocks,
                                                            sums: u + start * blocks, totals: t + start * blocks)
                                guard accumulate else {
                                    llmk_matmul(type, interleaved.baseAddress!, Int32(blocks), view, Int32(count),
                                                y + start * outputs, Int32(outputs), 0, Int32(outputs))
                                    continue
                                }
                                scratch.withUnsafeMutableBufferPointer { scratch in
                                    llmk_matmul(type, interleaved.baseAddress!, Int32(blocks), view, Int32(count),
                                                scratch.baseAddress!, Int32(outputs), 0, Int32(outputs))
                                    let out = y + start * outputs
                                    for i in 0..<count * outputs { out[i] += scratch[i] }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A tensor source that can hand over a matrix in its quantized blocks.
protocol QuantizedTensorSource {
    func quantizedMatrix(_ name: String) -> QuantizedMatrix?
}

extension GGUFTensorSource: QuantizedTensorSource {
    func quantizedMatrix(_ name: String) -> QuantizedMatrix? {
        file.tensor(named: name).flatMap { QuantizedMatrix($0, in: file) }
    }
}

extension Weights {
    /// `name`'s matrix in its quantized blocks, where the source has them and these weights are for
    /// the fast mode (the exact mode multiplies the dequantized values in float).
    func quantizedMatrix(_ name: String) -> QuantizedMatrix? {
        guard precision == .bfloat16 else { return nil }
        return (source as? QuantizedTensorSource)?.quantizedMatrix(prefix + name)
    }
}
