#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Memory for what the forward pass streams through every step — the weights' copies and the KV
/// caches — in 2 MB pages where the system lends them (Linux's transparent huge pages, asked for
/// with madvise). In 4 KB pages a step through ~90 MB of weights needs a page-table walk every 64
/// cache lines, and large pages made the kernels and attention stream measurably faster
/// (docs/benchmarks.md). The price: a 2 MB page is committed whole once touched.
enum LargeAllocation {
    static let hugePage = 2 << 20

    /// `byteCount` bytes, 64-byte aligned; from 2 MB on, in whole 2 MB pages. Free with `free`.
    static func allocate(byteCount: Int) -> UnsafeMutableRawPointer {
        let huge = byteCount >= hugePage
        let size = huge ? (byteCount + hugePage - 1) / hugePage * hugePage : max(byteCount, 1)
        var pointer: UnsafeMutableRawPointer?
        guard posix_memalign(&pointer, huge ? hugePage : 64, size) == 0, let pointer else {
            fatalError("out of memory: \(size) bytes")
        }
        #if os(Linux)
        // Advice only: where transparent huge pages are off this changes nothing.
        if huge { _ = madvise(pointer, size, MADV_HUGEPAGE) }
        #endif
        return pointer
    }

    static func free(_ pointer: UnsafeMutableRawPointer) {
        #if canImport(Glibc)
        Glibc.free(pointer)
        #else
        Darwin.free(pointer)
        #endif
    }
}

/// One large allocation handed out in 64-byte-aligned slices that live as long as it does: the
/// interleaved copies of a model's weight matrices, so that they share 2 MB pages.
final class WeightArena: @unchecked Sendable {
    // @unchecked: `used` changes only while the weights are loaded, on one thread.
    private let base: UnsafeMutableRawPointer
    private let capacity: Int
    private var used = 0

    init(byteCount: Int) {
        capacity = byteCount
        base = LargeAllocation.allocate(byteCount: byteCount)
    }

    deinit { LargeAllocation.free(base) }

    /// The next `byteCount` bytes.
    func take(_ byteCount: Int) -> UnsafeMutableRawBufferPointer {
        let start = (used + 63) / 64 * 64
        precondition(start + byteCount <= capacity, "the weight arena is smaller than its matrices")
        used = start + byteCount
        return UnsafeMutableRawBufferPointer(start: base + start, count: byteCount)
    }

    /// Room for slices of these sizes.
    static func byteCount(for sizes: [Int]) -> Int {
        sizes.reduce(0) { $0 + ($1 + 63) / 64 * 64 }
    }
}
