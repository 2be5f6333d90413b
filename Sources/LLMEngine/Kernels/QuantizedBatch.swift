import LLMKernels
import Synchronization

/// Activation vectors in 32-value blocks of 8-bit integers with a scale, as llama.cpp quantizes
/// activations before multiplying them with Q4_0, Q4_1, Q5 and Q8_0 weights: integer dot
/// products are the fast path, and quantizing the same way keeps our numbers close to llama.cpp's.
final class QuantizedBatch: @unchecked Sendable {
    // @unchecked: scratch space of one forward pass, used by one pass at a time.
    let length: Int
    let capacity: Int
    private let values: UnsafeMutablePointer<Int8>
    private let scales: UnsafeMutablePointer<Float>
    private let sums: UnsafeMutablePointer<Float>
    private let totals: UnsafeMutablePointer<Int32>
    /// The same vectors as llama.cpp's Q8_K (256-value blocks), for K-quant weights in llama.cpp's
    /// order: made from the floats when a product first asks after each `quantize`.
    private let superValues: UnsafeMutablePointer<Int8>
    private let superScales: UnsafeMutablePointer<Float>
    private let superSums: UnsafeMutablePointer<Int16>
    /// Bumped by every `quantize`; the Q8_K form is made once per value of it.
    private let generation = Atomic<Int>(0)
    /// The generation whose Q8_K form is being made (the first thread to ask starts the round),
    /// the next vector to take, how many are done, and the generation whose form is complete.
    private let superBlocksRound = Mutex<Int>(-1)
    private let superBlocksNext = Atomic<Int>(0)
    private let superBlocksDone = Atomic<Int>(0)
    private let superBlocksReady = Atomic<Int>(-1)

    /// Room for `capacity` vectors of `length` values (a multiple of 32).
    init(length: Int, capacity: Int) {
        self.length = length
        self.capacity = capacity
        values = .allocate(capacity: length * capacity)
        scales = .allocate(capacity: length / 32 * capacity)
        sums = .allocate(capacity: length / 32 * capacity)
        totals = .allocate(capacity: length / 32 * capacity)
        superValues = .allocate(capacity: length / 256 * 256 * capacity)
        superScales = .allocate(capacity: length / 256 * capacity)
        superSums = .allocate(capacity: length / 256 * 16 * capacity)
    }

    deinit {
        values.deallocate()
        scales.deallocate()
        sums.deallocate()
        totals.deallocate()
        superValues.deallocate()
        superScales.deallocate()
        superSums.deallocate()
    }

    /// Quantizes `count` vectors laid out one after another from `input`.
    func quantize(_ input: UnsafePointer<Float>, count: Int) {
        quantize(input, vectors: 0..<count)
    }

    /// Quantizes the vectors `vectors` of those laid out one after another from `input`; threads
    /// may each take their own range.
    func quantize(_ input: UnsafePointer<Float>, vectors: Range<Int>) {
        quantize(input, vectors: vectors, columns: 0..<length)
    }

    /// Quantizes values `columns` (whole blocks, or up to the end) of the vectors `vectors` of those
    /// laid out one after another from `input`; threads may each take their own columns or vectors.
    func quantize(_ input: UnsafePointer<Float>, vectors: Range<Int>, columns: Range<Int>) {
        precondition(vectors.upperBound <= capacity && columns.lowerBound % 32 == 0 && columns.upperBound <= length)
        guard !columns.isEmpty && !vectors.isEmpty else { return }
        generation.add(1, ordering: .releasing)
        let start = vectors.lowerBound * length + columns.lowerBound
        llmk_quantize_rows(input + start, Int32(vectors.count), Int32(length), Int32(columns.count), values + start,
                           scales + start / 32, sums + start / 32, totals + start / 32)
    }

    /// The first `count` vectors as llama.cpp's Q8_K, made from `input` — the floats this batch was
    /// last quantized from — when a product first asks: every thread that asks meanwhile takes
    /// vectors of its own, then waits (microseconds) until all are made.
    func superBlocks(of input: UnsafePointer<Float>, count: Int) -> llmk_superblock_activations {
        precondition(length % 256 == 0 && count <= capacity)
        let current = generation.load(ordering: .acquiring)
        if superBlocksReady.load(ordering: .acquiring) != current {
            superBlocksRound.withLock { round in
                guard round != current else { return }
                round = current
                superBlocksNext.store(0, ordering: .relaxed)
                superBlocksDone.store(0, ordering: .releasing)
            }
            let blocks = length / 256
            while true {
                let vector = superBlocksNext.wrappingAdd(1, ordering: .relaxed).oldValue
                guard vector < count else { break }
                llmk_quantize_q8_K(input + vector * length, 1, Int32(length), superValues + vector * length,
                                   superScales + vector * blocks, superSums + vector * blocks * 16)
                superBlocksDone.add(1, ordering: .releasing)
            }
            var wait = SpinWait()
            while superBlocksDone.load(ordering: .acquiring) < count { wait.pause() }
            superBlocksReady.store(current, ordering: .releasing)
        }
        return llmk_superblock_activations(values: superValues, scales: superScales, sums: superSums)
    }

    var kernelView: llmk_activations {
        llmk_activations(values: values, scales: scales, sums: sums, totals: totals)
    }
}
