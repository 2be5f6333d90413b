import Foundation
import Synchronization

/// Serves many generations at once with continuous batching: one thread runs forward passes in
/// which every running sequence contributes its next token and waiting prompts fill the rest of
/// the batch, so a new request joins at the next step without stalling the others, and each
/// weight is read once per step for all of them. At most `slots` sequences hold a KV cache of
/// `contextLength` positions each; later requests wait for a slot.
public final class GenerationScheduler: Sendable {
    public let model: LlamaModel
    public let slots: Int
    public let contextLength: Int
    private let inbox: Inbox

    public init(model: LlamaModel, slots: Int, contextLength: Int) {
        self.model = model
        self.slots = max(1, slots)
        self.contextLength = min(contextLength, model.config.contextLength)
        inbox = Inbox()
        let loop = Loop(model: model, slots: self.slots, contextLength: self.contextLength, inbox: inbox)
        let thread = Thread { loop.run() }
        thread.name = "llm-scheduler"
        thread.start()
    }

    deinit { inbox.close() }

    /// Starts a generation. `onText` gets the answer's text piece by piece and `onFinish` the
    /// outcome, once, both on the scheduler's thread: they must return quickly.
    @discardableResult
    public func submit(
        _ request: GenerationRequest, onText: @escaping @Sendable (String) -> Void,
        onFinish: @escaping @Sendable (GenerationResult) -> Void
    ) -> GenerationHandle {
        let handle = GenerationHandle(inbox: inbox)
        inbox.add(Job(request: request, handle: handle, onText: onText, onFinish: onFinish))
        return handle
    }

    /// The number of sequences running or waiting, for metrics and tests.
    public var load: Int { inbox.load.load(ordering: .relaxed) }

    struct Job: Sendable {
        var request: GenerationRequest
        var handle: GenerationHandle
        var onText: @Sendable (String) -> Void
        var onFinish: @Sendable (GenerationResult) -> Void
    }

    /// Where requests and cancellations wait for the scheduler's thread.
    final class Inbox: @unchecked Sendable {
        // @unchecked: every field but `load` is guarded by `condition`.
        let condition = NSCondition()
        private var jobs: [Job] = []
        private var closed = false
        let load = Atomic<Int>(0)

        func add(_ job: Job) {
            load.add(1, ordering: .relaxed)
            condition.lock()
            jobs.append(job)
            condition.signal()
            condition.unlock()
        }

        func poke() {
            condition.lock()
            condition.signal()
            condition.unlock()
        }

        func close() {
            condition.lock()
            closed = true
            condition.signal()
            condition.unlock()
        }

        /// New jobs; waits for one when `idle`. Nil once closed.
        func take(waiting idle: Bool) -> [Job]? {
            condition.lock()
            defer { condition.unlock() }
            while idle && jobs.isEmpty && !closed { condition.wait() }
            if closed { return nil }
            defer { jobs.removeAll() }
            return jobs
        }
    }

    /// The scheduler's thread: owns the slots and every running sequence.
    private final class Loop: @unchecked Sendable {
        // @unchecked: used only on the scheduler's thread after it starts.
        let model: LlamaModel
        let inbox: Inbox
        let scratch: ForwardScratch
        var freeStates: [LlamaState]
        var waiting: [Job] = []
        var running: [Sequence] = []

        init(model: LlamaModel, slots: Int, contextLength: Int, inbox: Inbox) {
            self.model = model
            self.inbox = inbox
            // Room for every running sequence's next token plus a prompt chunk.
            scratch = model.makeScratch(tokens: slots + LlamaModel.promptChunk)
            freeStates = (0..<slots).map { _ in model.makeState(capacity: contextLength) }
        }

        func run() {
            while let arrived = inbox.take(waiting: running.isEmpty && waiting.isEmpty) {
                waiting += arrived
                finishCancelled()
                admit()
                let steps = nextSteps()
                if steps.isEmpty { continue }
                model.forward(steps.map(\.step), scratch: scratch)
                sample(steps.filter(\.step.wantsLogits).map(\.sequence))
                for sequence in running where sequence.finished { finish(sequence) }
            }
        }

        /// Each sequence's next token, picked on the compute threads (a pass over the vocabulary's
        /// logits each), then its text handed on here, in order.
        private func sample(_ sequences: [Sequence]) {
            model.pool.runShared(sequences.count) { _, items in
                for index in items { sequences[index].choose() }
            }
            for sequence in sequences { sequence.take() }
        }

        private func admit() {
            while !waiting.isEmpty && !freeStates.isEmpty {
                // Cancelled jobs were dropped just before; one cancelled since goes at the next step.
                let job = waiting.removeFirst()
                let state = freeStates.removeLast()
                state.reset()
                let sequence = Sequence(job: job, state: state, tokenizer: model.tokenizer)
                running.append(sequence)
                if sequence.finished { finish(sequence) }
            }
        }

        private func finishCancelled() {
            for job in waiting where job.handle.isCancelled {
                job.onFinish(cancelledResult(job.request))
                inbox.load.subtract(1, ordering: .relaxed)
            }
            waiting.removeAll { $0.handle.isCancelled }
            for sequence in running where sequence.job.handle.isCancelled {
                sequence.completion.cancel()
                finish(sequence)
            }
        }

        private func cancelledResult(_ request: GenerationRequest) -> GenerationResult {
            GenerationResult(finishReason: .stop, promptTokens: request.promptTokens.count, completionTokens: 0, cancelled: true)
        }

        private func finish(_ sequence: Sequence) {
            guard let index = running.firstIndex(where: { $0 === sequence }) else { return }
            running.remove(at: index)
            freeStates.append(sequence.state)
            sequence.job.onFinish(sequence.completion.result)
            inbox.load.subtract(1, ordering: .relaxed)
        }

        /// Every decoding sequence's next token first, then prompt tokens, oldest request first,
        /// up to the batch's room.
        private func nextSteps() -> [(sequence: Sequence, step: LlamaModel.Step)] {
            var steps: [(sequence: Sequence, step: LlamaModel.Step)] = []
            for sequence in running {
                if let token = sequence.nextToken {
                    steps.append((sequence, LlamaModel.Step(token: token, state: sequence.state, wantsLogits: true)))
                }
            }
            var room = scratch.tokens - steps.count
            for sequence in running where sequence.nextToken == nil && room > 0 {
                let prompt = sequence.job.request.promptTokens
                let end = min(prompt.count, sequence.prompted + room)
                for index in sequence.prompted..<end {
                    steps.append((sequence, LlamaModel.Step(
                        token: prompt[index], state: sequence.state, wantsLogits: index == prompt.count - 1)))
                }
                room -= end - sequence.prompted
                sequence.prompted = end
            }
            return steps
        }
    }

    /// A running generation: its slot, how much of its prompt has been run, its next token.
    private final class Sequence: @unchecked Sendable {
        // @unchecked: used only on the scheduler's thread, but for `choose`, which a compute thread
        // may run while the scheduler's thread waits for it.
        let job: Job
        let state: LlamaState
        var completion: Completion
        var prompted = 0
        var nextToken: Int32?
        var finished = false

        init(job: Job, state: LlamaState, tokenizer: BPETokenizer) {
            self.job = job
            self.state = state
            completion = Completion(job.request, tokenizer: tokenizer)
            finished = job.request.maxTokens <= 0 || job.request.promptTokens.isEmpty
        }

        /// The token `take` goes on with; set by `choose`.
        private var chosen: Int32 = 0

        func choose() {
            chosen = completion.choose(logits: state.logits)
        }

        func take() {
            let (text, next) = completion.take(chosen, roomLeft: state.position < state.capacity)
            if !text.isEmpty { job.onText(text) }
            nextToken = next
            finished = next == nil
        }
    }
}

/// Lets a caller stop its generation; the slot is freed at the next step.
public final class GenerationHandle: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let inbox: GenerationScheduler.Inbox

    init(inbox: GenerationScheduler.Inbox) {
        self.inbox = inbox
    }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }

    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
        inbox.poke()
    }
}
