import DequeModule

/// The rules of the image engine's queue, without threads: jobs run one at a time in the order
/// they came; at most `capacity` wait behind the running one (more are refused, so a burst gets a
/// quick "busy" instead of minutes of waiting); a waiting job that is cancelled leaves the queue, a
/// running one is told to stop between steps.
struct ImageJobQueue {
    typealias JobID = Int

    enum Submission: Equatable {
        /// Waiting, with this many jobs ahead of it (the running one included).
        case queued(ahead: Int)
        case refused
    }

    enum Cancellation: Equatable {
        /// It had not started: answer it as cancelled now.
        case removed
        /// It is running: stop it at its next step.
        case stopRunning
        /// Finished or never known: nothing to do.
        case none
    }

    let capacity: Int
    private(set) var waiting: Deque<JobID> = []
    private(set) var running: JobID?

    init(capacity: Int) {
        precondition(capacity >= 1, "the queue must hold at least one job")
        self.capacity = capacity
    }

    mutating func submit(_ id: JobID) -> Submission {
        guard waiting.count < capacity else { return .refused }
        waiting.append(id)
        return .queued(ahead: waiting.count - 1 + (running == nil ? 0 : 1))
    }

    /// The job to run now, if the engine is free and one waits.
    mutating func start() -> JobID? {
        guard running == nil, let next = waiting.popFirst() else { return nil }
        running = next
        return next
    }

    mutating func finish(_ id: JobID) {
        precondition(running == id, "only the running job finishes")
        running = nil
    }

    mutating func cancel(_ id: JobID) -> Cancellation {
        if running == id { return .stopRunning }
        guard let index = waiting.firstIndex(of: id) else { return .none }
        waiting.remove(at: index)
        return .removed
    }
}
