import Foundation
import LLMKernels
import Synchronization

/// A fixed set of threads that split one piece of arithmetic between them: `run` hands the same
/// job to every thread with its index and returns when all are done. A forward pass makes over a
/// hundred such hand-offs per token, each worth microseconds, so idle workers spin for a moment
/// before they sleep: waking a sleeping thread costs more than the work it would get.
public final class ComputePool: Sendable {
    public let threadCount: Int
    private let core: Core

    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threadCount = max(1, threadCount)
        core = Core(workers: self.threadCount - 1)
        for index in 1..<self.threadCount {
            let thread = Thread { [core] in core.work(index: index) }
            thread.name = "llm-compute-\(index)"
            thread.start()
        }
    }

    deinit { core.stop() }

    /// Runs `body(i)` for every thread index `i`, index 0 on the calling thread.
    public func run(_ body: (Int) -> Void) {
        guard threadCount > 1 else { return body(0) }
        withoutActuallyEscaping(body) { core.run($0) }
    }

    /// Splits `0..<count` into one contiguous share per thread.
    public func share(of count: Int, thread: Int) -> Range<Int> {
        (count * thread / threadCount)..<(count * (thread + 1) / threadCount)
    }

    /// What the workers share; they hold it, not the pool, so the pool can go away under them.
    private final class Core: @unchecked Sendable {
        // @unchecked: `job` is written only under `dispatch`, before the release-store of
        // `generation` that workers acquire, and cleared only after every worker reported back.
        let workers: Int
        private let dispatch = Mutex(())
        private let generation = Atomic<Int>(0)
        private let finished = Atomic<Int>(0)
        private let stopping = Atomic<Bool>(false)
        private let parking = NSCondition()
        private var sleepers = 0
        private var job: ((Int) -> Void)?

        /// How long an idle worker spins, in pause instructions, before it sleeps: ~100 µs.
        private static let spinLimit = 20_000

        init(workers: Int) { self.workers = workers }

        func run(_ body: @escaping (Int) -> Void) {
            dispatch.withLock { _ in
                job = body
                finished.store(0, ordering: .relaxed)
                generation.add(1, ordering: .releasing)
                parking.lock()
                if sleepers > 0 { parking.broadcast() }
                parking.unlock()
                body(0)
                while finished.load(ordering: .acquiring) < workers { llmk_cpu_relax() }
                job = nil
            }
        }

        func work(index: Int) {
            var seen = 0
            while !stopping.load(ordering: .relaxed) {
                var spins = 0
                while generation.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins < Self.spinLimit {
                        llmk_cpu_relax()
                        continue
                    }
                    parking.lock()
                    sleepers += 1
                    while generation.load(ordering: .acquiring) == seen && !stopping.load(ordering: .relaxed) {
                        parking.wait()
                    }
                    sleepers -= 1
                    parking.unlock()
                    if stopping.load(ordering: .relaxed) { return }
                    spins = 0
                }
                seen = generation.load(ordering: .acquiring)
                job?(index)
                finished.add(1, ordering: .releasing)
            }
        }

        func stop() {
            stopping.store(true, ordering: .relaxed)
            parking.lock()
            parking.broadcast()
            parking.unlock()
        }
    }
}
