import Foundation
import Synchronization
import Testing
@testable import DiffusionEngine

/// The queue's rules without threads, then the worker with the tiny model: a full queue refuses at
/// once, a cancelled waiting job leaves the queue, a cancelled running job stops at its next step
/// and the job behind it runs.
struct ImageJobQueueTests {
    @Test func jobsRunInOrderAndAFullQueueRefuses() {
        var queue = ImageJobQueue(capacity: 2)
        #expect(queue.submit(1) == .queued(ahead: 0))
        #expect(queue.start() == 1)
        #expect(queue.start() == nil, "one job at a time")
        #expect(queue.submit(2) == .queued(ahead: 1))
        #expect(queue.submit(3) == .queued(ahead: 2))
        #expect(queue.submit(4) == .refused)
        queue.finish(1)
        #expect(queue.start() == 2)
        #expect(queue.submit(4) == .queued(ahead: 2))
    }

    @Test func cancellingDependsOnWhetherTheJobRuns() {
        var queue = ImageJobQueue(capacity: 3)
        _ = queue.submit(1)
        _ = queue.submit(2)
        _ = queue.submit(3)
        #expect(queue.start() == 1)
        #expect(queue.cancel(2) == .removed)
        #expect(queue.cancel(1) == .stopRunning)
        #expect(queue.cancel(9) == .none)
        queue.finish(1)
        #expect(queue.start() == 3, "the cancelled job was skipped")
        #expect(queue.cancel(2) == .none)
    }
}

struct ImageWorkerTests {
    /// Holds the worker's thread inside a job's progress report until the test lets it go, so the
    /// job is known to be running while the test acts.
    final class Gate: Sendable {
        let entered = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        let armed = Atomic<Bool>(true)

        func hold() {
            guard armed.exchange(false, ordering: .relaxed) else { return }
            entered.signal()
            release.wait()
        }

        /// Waits for the worker to enter, off the cooperative pool.
        func waitUntilEntered() async {
            await withCheckedContinuation { continuation in
                Thread { self.entered.wait(); continuation.resume() }.start()
            }
        }
    }

    static let small = ImageRequest(prompt: "a cat", width: 64, height: 64, steps: 3, guidance: 1, sampler: .euler, seed: 3)

    @Test func aFullQueueRefusesAtOnceAndACancelledRunningJobStops() async throws {
        let worker = ImageWorker(model: Reference.model, threads: 1, queueCapacity: 1)
        defer { worker.shutdown() }
        let gate = Gate()
        let steps = Mutex<[Int]>([])
        let running = Task {
            try await worker.draw(Self.small) { progress in
                if case .step(let step, _) = progress {
                    steps.withLock { $0.append(step) }
                    gate.hold()
                }
            }
        }
        await gate.waitUntilEntered()
        let waiting = try worker.submit(Self.small)
        #expect(throws: DiffusionError.queueFull) { try worker.submit(Self.small) }
        running.cancel()
        gate.release.signal()
        await #expect(throws: DiffusionError.cancelled) { try await running.value }
        #expect(steps.withLock { $0 } == [1], "stopped at the step after the cancellation")
        let image = try await waiting.image()
        let direct = try await offThePool { try Reference.model.generate(Self.small, pool: Reference.pool) }
        #expect(image == direct)
    }

    @Test func aCancelledWaitingJobLeavesTheQueue() async throws {
        let worker = ImageWorker(model: Reference.model, threads: 1, queueCapacity: 1)
        defer { worker.shutdown() }
        let gate = Gate()
        let running = Task { try await worker.draw(Self.small) { _ in gate.hold() } }
        await gate.waitUntilEntered()
        let waiting = try worker.submit(Self.small)
        #expect(throws: DiffusionError.queueFull) { try worker.submit(Self.small) }
        let awaiting = Task { try await waiting.image() }
        awaiting.cancel()
        await #expect(throws: DiffusionError.cancelled) { try await awaiting.value }
        // Its place is free again: this one is queued, not refused.
        let next = try worker.submit(Self.small)
        gate.release.signal()
        _ = try await running.value
        let direct = try await offThePool { try Reference.model.generate(Self.small, pool: Reference.pool) }
        #expect(try await next.image() == direct)
    }
}

/// Runs heavy synchronous work (drawing an expected image) on a thread of its own, so tests that
/// wait for it do not hold the cooperative pool the other suites' servers and clients run on.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in Thread { continuation.resume(with: Result(catching: work)) }.start() }
}
