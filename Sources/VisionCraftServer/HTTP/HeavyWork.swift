import Foundation
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Runs a request's CPU-heavy steps (parsing a large body, rendering and tokenizing a long prompt)
/// off Swift's cooperative pool, which serves every HTTP request, on threads of their own that
/// run at a lower scheduling priority: with as many busy threads as cores, the kernel then gives
/// the threads that answer other requests the core first, so no single request delays them.
enum HeavyWork {
    private static let pool: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: ProcessInfo.processInfo.activeProcessorCount)
        pool.start()
        return pool
    }()

    static func run<Value: Sendable>(_ body: @escaping @Sendable () throws -> Value) async throws -> Value {
        try await pool.runIfActive {
            lowerThisThreadsPriority()
            return try body()
        }
    }

    /// Nice 10 for the calling thread alone: on Linux the nice value is a thread's own, and
    /// `PRIO_PROCESS` with id 0 names the calling thread.
    private static func lowerThisThreadsPriority() {
        #if os(Linux)
        _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, 10)
        #endif
    }
}
