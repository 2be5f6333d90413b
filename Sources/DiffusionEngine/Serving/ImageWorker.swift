import Foundation
import LLMEngine
import Synchronization

/// Runs a model's image jobs on threads of its own — one job at a time, all threads on it — never
/// on the caller's. Submitting is immediate: a full queue refuses at once. Callers then await their
/// image; a caller that is cancelled (its client left) takes its job out of the queue or stops it
/// at the next step.
public final class ImageWorker: Sendable {
    /// What a job reports while it runs.
    public enum Progress: Sendable {
        case started(waited: Duration)
        case step(Int, of: Int)
    }

    /// An animation's frame count and motion modules (AnimateDiff); nil for one image.
    public typealias Animation = (frames: Int, motion: MotionModule)

    private struct Job {
        let request: ImageRequest
        let animation: Animation?
        let ticket: Ticket
        let progress: @Sendable (Progress) -> Void
        let submitted: ContinuousClock.Instant
    }

    /// A submitted job: await its image, or cancel it.
    public final class Ticket: Sendable {
        private enum State {
            case pending
            case awaited(CheckedContinuation<[RGBImage], any Error>)
            case done(Result<[RGBImage], any Error>)
        }

        fileprivate let id: Int
        private weak let worker: ImageWorker?
        fileprivate let stop = Atomic<Bool>(false)
        private let state = Mutex(State.pending)

        fileprivate init(id: Int, worker: ImageWorker) {
            self.id = id
            self.worker = worker
        }

        /// The image; cancelling the awaiting task cancels the job.
        public func image() async throws -> RGBImage { try await frames()[0] }

        /// The job's pictures: one for an image, every frame of an animation.
        public func frames() async throws -> [RGBImage] {
            try await withTaskCancellationHandler {
                try await withCheckedThrowingContinuation { continuation in
                    let finished = state.withLock { state -> Result<[RGBImage], any Error>? in
                        if case .done(let result) = state { return result }
                        state = .awaited(continuation)
                        return nil
                    }
                    if let finished { continuation.resume(with: finished) }
                }
            } onCancel: {
                cancel()
            }
        }

        /// Takes a waiting job out of the queue, or stops a running one at its next step.
        public func cancel() {
            stop.store(true, ordering: .relaxed)
            if worker?.withdraw(id) == true {
                worker?.tally.withLock { $0.cancelled += 1 }
                finish(.failure(DiffusionError.cancelled))
            }
        }

        fileprivate func finish(_ result: Result<[RGBImage], any Error>) {
            let waiter = state.withLock { state -> CheckedContinuation<[RGBImage], any Error>? in
                defer { state = .done(result) }
                if case .awaited(let continuation) = state { return continuation }
                return nil
            }
            waiter?.resume(with: result)
        }
    }

    private struct State {
        var queue: ImageJobQueue
        var jobs: [ImageJobQueue.JobID: Job] = [:]
        var nextID = 0
        var stopping = false
    }

    private let state: Mutex<State>
    private let wake = DispatchSemaphore(value: 0)
    public let model: StableDiffusionModel

    /// Jobs that ran to their image, and jobs stopped or withdrawn because they were cancelled.
    public struct Counts: Sendable, Equatable {
        public var drawn = 0
        public var cancelled = 0

        public init(drawn: Int = 0, cancelled: Int = 0) {
            self.drawn = drawn
            self.cancelled = cancelled
        }
    }

    private let tally = Mutex(Counts())
    public var counts: Counts { tally.withLock { $0 } }

    public init(model: StableDiffusionModel, threads: Int, queueCapacity: Int) {
        self.model = model
        state = Mutex(State(queue: ImageJobQueue(capacity: queueCapacity)))
        let pool = ComputePool(threadCount: threads)
        let thread = Thread { [self] in self.run(pool: pool) }
        thread.name = "image-engine"
        thread.start()
    }

    /// Stops the thread once the running job is done; every job not done is answered as cancelled.
    public func shutdown() {
        let abandoned = state.withLock { state in
            state.stopping = true
            defer { state.jobs.removeAll() }
            return Array(state.jobs.values)
        }
        for job in abandoned {
            job.ticket.stop.store(true, ordering: .relaxed)
            job.ticket.finish(.failure(DiffusionError.cancelled))
        }
        wake.signal()
    }

    /// Queues `request` behind the jobs already waiting, or throws `.queueFull` at once.
    public func submit(
        _ request: ImageRequest, animation: Animation? = nil, progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) throws(DiffusionError) -> Ticket {
        let ticket = try state.withLock { state throws(DiffusionError) -> Ticket in
            guard !state.stopping else { throw .cancelled }
            state.nextID += 1
            let ticket = Ticket(id: state.nextID, worker: self)
            guard case .queued = state.queue.submit(ticket.id) else { throw .queueFull }
            state.jobs[ticket.id] = Job(request: request, animation: animation, ticket: ticket, progress: progress, submitted: .now)
            return ticket
        }
        wake.signal()
        return ticket
    }

    /// Submits `request` and waits for its image; cancelling the calling task cancels the job.
    public func draw(
        _ request: ImageRequest, progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> RGBImage {
        try await submit(request, progress: progress).image()
    }

    /// An animation's frames, queued with the images (one engine, one queue, the weights once).
    public func animate(
        _ request: ImageRequest, frames: Int, motion: MotionModule, progress: @escaping @Sendable (Progress) -> Void = { _ in }
    ) async throws -> [RGBImage] {
        try await submit(request, animation: (frames, motion), progress: progress).frames()
    }

    /// Removes job `id` if it is waiting; true if it was.
    fileprivate func withdraw(_ id: Int) -> Bool {
        state.withLock { state in
            guard state.queue.cancel(id) == .removed else { return false }
            state.jobs[id] = nil
            return true
        }
    }

    private func run(pool: ComputePool) {
        while true {
            wake.wait()
            while let (id, job) = nextJob() {
                job.progress(.started(waited: .now - job.submitted))
                let result = Result { () throws -> [RGBImage] in
                    let ticket = job.ticket
                    let shouldStop = { ticket.stop.load(ordering: .relaxed) }
                    let onStep = { (step: Int, _: [Float]) throws in
                        if ticket.stop.load(ordering: .relaxed) { throw DiffusionError.cancelled }
                        job.progress(.step(step + 1, of: job.request.sampler.evaluations(steps: job.request.steps)))
                    }
                    if let animation = job.animation {
                        return try model.animate(job.request, frames: animation.frames, motion: animation.motion, pool: pool,
                                                 shouldStop: shouldStop, onStep: onStep)
                    }
                    return [try model.generate(job.request, pool: pool, shouldStop: shouldStop, onStep: onStep)]
                }
                tally.withLock { counts in
                    switch result {
                    case .success: counts.drawn += 1
                    case .failure(DiffusionError.cancelled): counts.cancelled += 1
                    case .failure: break
                    }
                }
                let finished = state.withLock { state -> Job? in
                    state.queue.finish(id)
                    return state.jobs.removeValue(forKey: id)
                }
                finished?.ticket.finish(result)
            }
            if state.withLock({ $0.stopping }) { return }
        }
    }

    private func nextJob() -> (ImageJobQueue.JobID, Job)? {
        state.withLock { state in
            guard !state.stopping, let id = state.queue.start(), let job = state.jobs[id] else { return nil }
            return (id, job)
        }
    }
}
