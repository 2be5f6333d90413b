#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A whole file mapped read-only into memory. Weights are read in place — the kernel pages them
/// in on first touch and shares them between processes — unless a model copies them into another
/// layout, and then it hands their pages back.
public final class MappedFile: @unchecked Sendable {
    // @unchecked: the mapping is read-only and lives until deinit; nothing mutates it.
    public let path: String
    public let bytes: UnsafeRawBufferPointer

    public init(path: String) throws(GGUFError) {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else {
            throw GGUFError.cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        let size = Int(status.st_size)
        guard size > 0 else { throw GGUFError.malformed(path: path, reason: "the file is empty") }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw GGUFError.cannotOpen(path: path, reason: "mmap failed: \(String(cString: strerror(errno)))")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Drops the whole pages inside `range` from resident memory; the mapping stays valid and
    /// read-only, so a later read pages them back in from the file.
    public func releasePages(_ range: UnsafeRawBufferPointer) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (Int(bitPattern: range.baseAddress) + page - 1) / page * page
        let end = (Int(bitPattern: range.baseAddress) + range.count) / page * page
        guard end > start else { return }
        madvise(UnsafeMutableRawPointer(bitPattern: start), end - start, Int32(MADV_DONTNEED))
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: bytes.baseAddress), bytes.count)
    }
}
