import LLMKernels

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

    /// Room for `capacity` vectors of `length` values (a multiple of 32).
    init(length: Int, capacity: Int) {
        self.length = length
        self.capacity = capacity
        values = .allocate(capacity: length * capacity)
        scales = .allocate(capacity: length / 32 * capacity)
        sums = .allocate(capacity: length / 32 * capacity)
        totals = .allocate(capacity: length / 32 * capacity)
    }

    deinit {
        values.deallocate()
        scales.deallocate()
        sums.deallocate()
        totals.deallocate()
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
        let start = vectors.lowerBound * length + columns.lowerBound
        llmk_quantize_rows(input + start, Int32(vectors.count), Int32(length), Int32(columns.count), values + start,
                           scales + start / 32, sums + start / 32, totals + start / 32)
    }

    var kernelView: llmk_activations {
        llmk_activations(values: values, scales: scales, sums: sums, totals: totals)
    }
}
