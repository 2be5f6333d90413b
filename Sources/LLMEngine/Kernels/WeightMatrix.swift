import LLMKernels

/// A weight matrix as the products read it, and Y = X·Wᵀ with it: row `r` (the tensor's first
/// dimension, contiguous) dotted with each input vector. Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 are
/// multiplied with 8-bit activations: in `.blockwise` order copied at load into the integer
/// kernels' layout — rows in groups of sixteen, so each unpacked weight block serves every vector
/// of a batch and sixteen rows at once — and in `.llamaCpp` order read in place. In `.blockwise`
/// order the K-quants and IQ4 types are rewritten at load into the nearest of those types
/// (`llmk_requantize`: Q4_K → Q4_1, Q5_K → Q5_1, the others → Q8_0) and take the same path; in
/// `.llamaCpp` order the K-quants and IQ4 types are read in place and multiplied as llama.cpp
/// multiplies them (`llamaCppProduct(for:)`; K-quants with activations in 256-value blocks,
/// `llmk_matmul_superblocks`). The rest (F32, F16) are read in place and go through floats, each
/// row turned into floats once for the whole batch.
final class WeightMatrix: @unchecked Sendable {
    // @unchecked: the interleaved copy is written once in init and only read afterwards.
    let tensor: GGUFTensor
    private let product: Product

    /// Which kernel multiplies, decided once at load.
    private enum Product {
        /// The copy, in its arena (kept alive here), in the kernels' type.
        case interleaved(UnsafeMutableRawBufferPointer, WeightArena, type: Int32)
        /// llama.cpp's lane order on the file's layout, with the kernel's number for the type.
        case laneOrder(Int32)
        /// llama.cpp's order for K-quants, with activations in 256-value blocks (Q8_K).
        case superBlocks(Int32)
        case floats
    }

    var rowCount: Int { tensor.rowCount }

    /// The type the integer kernels multiply `tensor` as in `order`.
    private static func kernelType(of tensor: GGUFTensor, order: ProductOrder) -> Int32 {
        let type = Int32(tensor.type.rawValue)
        return order == .blockwise ? llmk_requantized_type(type) : type
    }

    /// The bytes `init` copies `tensor` into in `order` (0 when it reads the tensor in place).
    static func copySize(of tensor: GGUFTensor, order: ProductOrder) -> Int {
        guard order == .blockwise else { return 0 }
        return llmk_interleaved_size(kernelType(of: tensor, order: order), Int32(tensor.rowCount),
                                     Int32(tensor.rowLength / 32))
    }

    /// In `.blockwise` order, copies `tensor` into the kernels' layout (rewritten first where it is
    /// a K-quant or IQ4 type), in `arena`, where it has an integer path — a few thousand rows at a
    /// time, handing each stretch of `file`'s pages back once copied: copied whole, Gemma 3's
    /// 178 MB embedding was in memory twice over for a moment, the process's peak.
    init(_ tensor: GGUFTensor, order: ProductOrder, arena: WeightArena, releasingPagesOf file: GGUFFile? = nil) {
        self.tensor = tensor
        let type = Self.kernelType(of: tensor, order: order), rows = Int32(tensor.rowCount)
        let blocks = Int32(tensor.rowLength / 32)
        let size = llmk_interleaved_size(type, rows, blocks)
        if order == .llamaCpp {
            product = Self.llamaCppProduct(for: tensor)
        } else if size == 0 {
            product = .floats
        } else {
            let buffer = arena.take(size)
            // Chunks of whole row groups (the kernels' groups are 8 or 16 rows), each landing where
            // its groups go.
            let chunk = 4096, rewrittenRowBytes = Int(blocks) * GGMLType(rawValue: UInt32(type))!.blockBytes
            let rewritten = type == Int32(tensor.type.rawValue)
                ? nil : UnsafeMutableRawPointer.allocate(byteCount: chunk * rewrittenRowBytes, alignment: 64)
            defer { rewritten?.deallocate() }
            for first in stride(from: 0, to: Int(rows), by: chunk) {
                let count = min(chunk, Int(rows) - first)
                let source = tensor.bytes.baseAddress! + first * tensor.rowBytes
                let target = buffer.baseAddress! + llmk_interleaved_size(type, Int32(first), blocks)
                if let rewritten {
                    llmk_requantize(Int32(tensor.type.rawValue), source, tensor.rowBytes, Int32(count),
                                    Int32(tensor.rowLength), rewritten)
                    llmk_interleave(type, rewritten, rewrittenRowBytes, Int32(count), blocks, target)
                } else {
                    llmk_interleave(type, source, tensor.rowBytes, Int32(count), blocks, target)
                }
                file?.releasePages(UnsafeRawBufferPointer(start: source, count: count * tensor.rowBytes))
            }
            product = .interleaved(buffer, arena, type: type)
        }
    }

    /// How llama.cpp multiplies `tensor` on x86, in its own layout: matrices of Q4_0, IQ4_NL, Q4_K
    /// (and Q2_K, where AVX-512 is — summed that way here on every machine, so all give the same
    /// logits) with a multiple of 8 rows are repacked and summed block by block; the rest of the
    /// 32-value types in lanes with 8-bit activations in blocks of 32, the other K-quants in lanes
    /// with activations in blocks of 256.
    private static func llamaCppProduct(for tensor: GGUFTensor) -> Product {
        let type = Int32(tensor.type.rawValue), repacked = tensor.rowCount % 8 == 0
        switch tensor.type {
        case .q3_K, .q5_K, .q6_K, .iq4_XS: return .superBlocks(type)
        case .q4_K: return .superBlocks(repacked ? Int32(LLMK_Q4_K_REPACKED) : type)
        case .q2_K: return .superBlocks(repacked ? Int32(LLMK_Q2_K_REPACKED) : type)
        case .q4_0 where repacked: return .laneOrder(Int32(LLMK_Q4_0_BLOCKWISE))
        case .iq4_NL: return .laneOrder(repacked ? Int32(LLMK_IQ4_NL_BLOCKWISE) : type)
        case .q4_0, .q4_1, .q5_0, .q5_1, .q8_0: return .laneOrder(type)
        default: return .floats
        }
    }

    /// Whether the file's copy of the weights is no longer read by products.
    var isCopied: Bool {
        if case .interleaved = product { return true }
        return false
    }

    /// Writes `output[b * outputStride + r]` for the weight rows `rows` (starting at a multiple of
    /// sixteen, as the kernels take rows in groups of sixteen) and the `batch` vectors of `input` (each
    /// `tensor.rowLength` long, one after another), whose 8-bit form is `quantized`.
    func multiply(
        input: UnsafePointer<Float>, quantized: QuantizedBatch, batch: Int, into output: UnsafeMutablePointer<Float>,
        outputStride: Int, rows: Range<Int>
    ) {
        guard !rows.isEmpty else { return }
        let blocks = Int32(tensor.rowLength / 32), begin = Int32(rows.lowerBound), end = Int32(rows.upperBound)
        switch product {
        case .interleaved(let buffer, _, let type):
            llmk_matmul(type, buffer.baseAddress!, blocks, quantized.kernelView, Int32(batch), output,
                        Int32(outputStride), begin, end)
        case .laneOrder(let kernel):
            llmk_matmul_lanes(kernel, tensor.bytes.baseAddress!, tensor.rowBytes, blocks, quantized.kernelView,
                              Int32(batch), output, Int32(outputStride), begin, end)
        case .superBlocks(let kernel):
            llmk_matmul_superblocks(kernel, tensor.bytes.baseAddress!, tensor.rowBytes, Int32(tensor.rowLength / 256),
                                    quantized.superBlocks(of: input, count: batch), Int32(batch), output,
                                    Int32(outputStride), begin, end)
        case .floats:
            let handled = llmk_matmul_float_at_level(
                -1, Int32(tensor.type.rawValue), tensor.bytes.baseAddress!, tensor.rowBytes, Int32(tensor.rowLength),
                input, Int32(batch), output, Int32(outputStride), begin, end)
            precondition(handled != 0, "no product for \(tensor.type.name) weights")
        }
    }
}
