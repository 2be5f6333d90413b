import DequeModule
import LLMEngine
import NIOConcurrencyHelpers

/// What a reader can ask of a generation it is behind: hold off, go on, stop.
protocol PausableGeneration: Sendable {
    func pause()
    func resume()
    func cancel()
}

extension GenerationHandle: PausableGeneration {}

/// The events of one embedded generation, between the scheduler's thread, which hands them over
/// without ever waiting (it serves every sequence), and the request's task, which reads them.
/// With `capacity` events unread the generation is paused — it keeps its slot, and the sequences
/// beside it go on — until the reader is down to half of that: a slow client slows only its own
/// answer, and what waits for it stays small. This keeps `ChatEventStream`'s pull-based promise.
final class GenerationEventBuffer: Sendable {
    private struct State {
        var events = Deque<ChatEvent>()
        var finished = false
        var paused = false
        var reader: CheckedContinuation<ChatEvent?, Never>?
    }

    let capacity: Int
    private let state = NIOLockedValueBox(State())
    private let generation = NIOLockedValueBox<(any PausableGeneration)?>(nil)

    init(capacity: Int) {
        self.capacity = max(2, capacity)
    }

    /// The generation to pause and resume; set once it has been submitted.
    func attach(_ handle: any PausableGeneration) {
        generation.withLockedValue { $0 = handle }
    }

    /// From the scheduler's thread.
    func push(_ event: ChatEvent) {
        let (reader, pause) = state.withLockedValue { state -> (CheckedContinuation<ChatEvent?, Never>?, Bool) in
            if let reader = state.reader {
                state.reader = nil
                return (reader, false)
            }
            state.events.append(event)
            guard state.events.count >= capacity, !state.paused else { return (nil, false) }
            state.paused = true
            return (nil, true)
        }
        reader?.resume(returning: event)
        if pause { generation.withLockedValue { $0 }?.pause() }
    }

    /// From the scheduler's thread: no more events.
    func finish() {
        let reader = state.withLockedValue { state in
            state.finished = true
            defer { state.reader = nil }
            return state.reader
        }
        reader?.resume(returning: nil)
    }

    /// The next event, waiting for it if need be; nil at the end, or when the reading task is cancelled.
    func next() async -> ChatEvent? {
        // An event already there is taken without suspending: a suspension is a trip through the
        // executor's queue, a measurable share of a token's cost.
        if let ready = take(orWait: nil) { return ready }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<ChatEvent?, Never>) in
                if let ready = take(orWait: continuation) { continuation.resume(returning: ready) }
            }
        } onCancel: {
            let reader = state.withLockedValue { state in
                defer { state.reader = nil }
                return state.reader
            }
            reader?.resume(returning: nil)
        }
    }

    /// An event that is already there, or nil (none yet, or the end).
    func ready() -> ChatEvent? {
        take(orWait: nil) ?? nil
    }

    /// The next event (`.some(nil)` at the end), or nil, leaving `reader` to wait if given.
    private func take(orWait reader: CheckedContinuation<ChatEvent?, Never>?) -> ChatEvent?? {
        let (ready, resume) = state.withLockedValue { state -> (ChatEvent??, Bool) in
            if let event = state.events.popFirst() {
                let resume = state.paused && state.events.count <= capacity / 2
                if resume { state.paused = false }
                return (.some(event), resume)
            }
            if state.finished || Task.isCancelled { return (.some(nil), false) }
            if let reader { state.reader = reader }
            return (nil, false)
        }
        if resume { generation.withLockedValue { $0 }?.resume() }
        return ready
    }

    /// The reader stops early: the generation stops too.
    func cancel() {
        generation.withLockedValue { $0 }?.cancel()
    }

    var unread: Int { state.withLockedValue { $0.events.count } }
}
