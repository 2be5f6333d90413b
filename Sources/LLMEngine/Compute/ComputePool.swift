import Foundation
import LLMKernels
import Synchronization

/// A fixed set of threads that split one piece of arithmetic between them: `run` hands the same
/// job to every thread with its index and returns when all are done. A forward pass makes over a
/// hundred such hand-offs per token, each worth microseconds, so idle workers spin for a moment
/// before they sleep: waking a sleeping thread costs more than the work it would get.
/// Every wait spins only microseconds before it yields the core: on a machine with more runnable
/// threads than cores (several models, other processes), the thread waited for may be the one
/// the spinning keeps off the core. Four engines on two cores decoding at once took 24 s spinning
/// on, 3.2 s yielding (docs/benchmarks.md, 2026-12-04).
public final class ComputePool: Sendable {
    public let threadCount: Int
    private let core: Core
    private let shares: Shares

    public init(threadCount: Int = ProcessInfo.processInfo.activeProcessorCount) {
        self.threadCount = max(1, threadCount)
        core = Core(workers: self.threadCount - 1)
        shares = Shares(count: self.threadCount)
        for index in 1..<self.threadCount {
            let thread = Thread { [core] in core.work(index: index) }
            thread.name = "llm-compute-\(index)"
            thread.start()
        }
    }

    deinit { core.stop() }

    /// Runs `body(i)` for every thread index `i`, index 0 on the calling thread. Runs from
    /// different callers take turns.
    public func run(_ body: (Int) -> Void) {
        guard threadCount > 1 else { return body(0) }
        withoutActuallyEscaping(body) { core.run($0, first: {}) }
    }

    /// Runs `body(thread, items)` over pieces of `0..<count`: each thread takes pieces of its own
    /// share front to back, then pieces from the back of the others' shares that are not done, so
    /// a thread that the machine's other work slows down hands its last pieces over (with fixed
    /// halves, one waited for the other a large part of each step). A thread's first piece is half
    /// its share, so it mostly walks memory in order.
    /// A lone item stays on the calling thread: handing it over would cost more than it saves.
    /// `eachThread(thread)` runs on a thread before its first piece (on no thread that gets none):
    /// what each thread prepares for itself, with no hand-off between it and the pieces.
    public func runShared(
        _ count: Int, eachThread: ((_ thread: Int) -> Void)? = nil, _ body: (_ thread: Int, _ items: Range<Int>) -> Void
    ) {
        guard threadCount > 1 && count > 1 else {
            if count > 0 { eachThread?(0) }
            return body(0, 0..<count)
        }
        let threads = threadCount, shares = shares
        withoutActuallyEscaping(body) { body in
            // The shares are set in this run's turn: another caller's run may be using them.
            core.run({ thread in
                var started = false
                func run(_ items: Range<Int>) {
                    if !started {
                        eachThread?(thread)
                        started = true
                    }
                    body(thread, items)
                }
                while let items = shares.take(thread, fromFront: true) { run(items) }
                for offset in 1..<threads {
                    let other = (thread + offset) % threads
                    while let items = shares.take(other, fromFront: false) { run(items) }
                }
            }, first: {
                for thread in 0..<threads {
                    shares.set(thread, to: (count * thread / threads)..<(count * (thread + 1) / threads))
                }
            })
        }
    }

    /// What is left of each thread's share during `runShared`, one cache line each: first and end
    /// in one word, so the owner taking from the front and another thread from the back agree.
    private final class Shares: @unchecked Sendable {
        // @unchecked: the words are only touched atomically.
        private let words: UnsafeMutablePointer<Atomic<UInt64>>
        private let count: Int
        private static let stride = 8  // words per cache line

        init(count: Int) {
            self.count = count
            let raw = UnsafeMutableRawPointer.allocate(byteCount: count * Self.stride * 8, alignment: 64)
            words = raw.bindMemory(to: Atomic<UInt64>.self, capacity: count * Self.stride)
            for index in 0..<count { (words + index * Self.stride).initialize(to: Atomic(0)) }
        }

        deinit {
            for index in 0..<count { _ = (words + index * Self.stride).move() }
            UnsafeMutableRawPointer(words).deallocate()
        }

        func set(_ share: Int, to items: Range<Int>) {
            words[share * Self.stride].store(Self.word(items), ordering: .relaxed)
        }

        private static func word(_ items: Range<Int>) -> UInt64 {
            UInt64(items.lowerBound) << 32 | UInt64(items.upperBound)
        }

        /// Half of what is left of `share` (at least one item), from its front or its back.
        func take(_ share: Int, fromFront: Bool) -> Range<Int>? {
            let word = words + share * Self.stride
            var current = word.pointee.load(ordering: .relaxed)
            while true {
                let first = Int(current >> 32), end = Int(current & 0xFFFF_FFFF)
                guard first < end else { return nil }
                let size = max(1, (end - first) / 2)
                let taken = fromFront ? first..<first + size : end - size..<end
                let left = fromFront ? taken.upperBound..<end : first..<taken.lowerBound
                let (exchanged, found) = word.pointee.compareExchange(
                    expected: current, desired: Self.word(left), ordering: .relaxed)
                if exchanged { return taken }
                current = found
            }
        }
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

        /// How long an idle worker spins before it yields (~20 µs), and how many times it yields
        /// (each returns at once when nothing else waits for the core) before it sleeps.
        private static let workerSpins = 1_000
        private static let workerYields = 20

        init(workers: Int) { self.workers = workers }

        /// Runs `first`, then `body` on every thread, in one turn.
        func run(_ body: @escaping (Int) -> Void, first: () -> Void) {
            dispatch.withLock { _ in
                first()
                job = body
                finished.store(0, ordering: .relaxed)
                generation.add(1, ordering: .releasing)
                parking.lock()
                if sleepers > 0 { parking.broadcast() }
                parking.unlock()
                body(0)
                var wait = SpinWait()
                while finished.load(ordering: .acquiring) < workers { wait.pause() }
                job = nil
            }
        }

        func work(index: Int) {
            var seen = 0
            while !stopping.load(ordering: .relaxed) {
                var spins = 0
                while generation.load(ordering: .acquiring) == seen {
                    spins += 1
                    if spins < Self.workerSpins {
                        llmk_cpu_relax()
                        continue
                    }
                    if spins < Self.workerSpins + Self.workerYields {
                        sched_yield()
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
