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
        inbox.add(Job(id: inbox.nextID(), request: request, handle: handle, onText: onText, onFinish: onFinish))
        return handle
    }

    /// The number of sequences running or waiting, for metrics and tests.
    public var load: Int { inbox.load.load(ordering: .relaxed) }

    struct Job: Sendable {
        var id: Int
        var request: GenerationRequest
        var handle: GenerationHandle
        var onText: @Sendable (String) -> Void
        var onFinish: @Sendable (GenerationResult) -> Void
    }

    /// Where requests, cancellations and readers catching up wait for the scheduler's thread.
    final class Inbox: @unchecked Sendable {
        // @unchecked: every field but the atomics is guarded by `condition`.
        let condition = NSCondition()
        private var jobs: [Job] = []
        private var poked = false
        private var closed = false
        let load = Atomic<Int>(0)
        private let ids = Atomic<Int>(0)

        func nextID() -> Int { ids.add(1, ordering: .relaxed).newValue }

        func add(_ job: Job) {
            load.add(1, ordering: .relaxed)
            condition.lock()
            jobs.append(job)
            condition.signal()
            condition.unlock()
        }

        /// Something changed for a running job (cancelled, or its reader caught up). Remembered
        /// until the scheduler next looks, so a poke just before it waits is not lost.
        func poke() {
            condition.lock()
            poked = true
            condition.signal()
            condition.unlock()
        }

        func close() {
            condition.lock()
            closed = true
            condition.signal()
            condition.unlock()
        }

        /// New jobs; when `idle`, waits for a job or a poke first. Nil once closed.
        func take(waiting idle: Bool) -> [Job]? {
            condition.lock()
            defer { condition.unlock() }
            while idle && jobs.isEmpty && !poked && !closed { condition.wait() }
            if closed { return nil }
            poked = false
            defer { jobs.removeAll() }
            return jobs
        }
    }

    /// The scheduler's thread: owns the slots and every running sequence, and does what the
    /// `StateMachine` decides.
    private final class Loop: @unchecked Sendable {
        // @unchecked: used only on the scheduler's thread after it starts.
        let model: LlamaModel
        let inbox: Inbox
        let scratch: ForwardScratch
        var freeStates: [LlamaState]
        var machine: StateMachine
        var waiting: [Int: Job] = [:]
        var running: [Int: Sequence] = [:]

        init(model: LlamaModel, slots: Int, contextLength: Int, inbox: Inbox) {
            self.model = model
            self.inbox = inbox
            // Room for every running sequence's next token plus a prompt chunk.
            scratch = model.makeScratch(tokens: slots + LlamaModel.promptChunk)
            freeStates = (0..<slots).map { _ in model.makeState(capacity: contextLength) }
            machine = StateMachine(slots: slots, room: scratch.tokens)
        }

        func run() {
            var idle = true
            while let arrived = inbox.take(waiting: idle) {
                for job in arrived {
                    waiting[job.id] = job
                    machine.submit(id: job.id, promptCount: job.request.promptTokens.count)
                }
                finishCancelled()
                admit()
                let steps = machine.nextSteps { self.running[$0]?.job.handle.isPaused ?? false }
                // Nothing to run (no requests, or every reader behind): wait for a change.
                idle = steps.isEmpty
                if steps.isEmpty { continue }
                let passes = steps.flatMap(modelSteps)
                model.forward(passes.map(\.step), scratch: scratch)
                sample(passes.filter(\.step.wantsLogits).map(\.sequence))
            }
        }

        private func modelSteps(_ step: StateMachine.Step) -> [(sequence: Sequence, step: LlamaModel.Step)] {
            switch step {
            case .decode(let id):
                let sequence = running[id]!
                return [(sequence, LlamaModel.Step(token: sequence.nextToken!, state: sequence.state, wantsLogits: true))]
            case .prompt(let id, let range, let last):
                let sequence = running[id]!
                let prompt = sequence.job.request.promptTokens
                return range.map { index in
                    (sequence, LlamaModel.Step(token: prompt[index], state: sequence.state,
                                               wantsLogits: last && index == range.upperBound - 1))
                }
            }
        }

        /// Each sequence's next token, picked on the compute threads (a pass over the vocabulary's
        /// logits each), then its text handed on here, in order.
        private func sample(_ sequences: [Sequence]) {
            model.pool.runShared(sequences.count) { _, items in
                for index in items { sequences[index].choose() }
            }
            for sequence in sequences {
                sequence.take()
                if sequence.finished { finish(sequence) } else { machine.startedDecoding(id: sequence.job.id) }
            }
        }

        private func admit() {
            for id in machine.admit() {
                let job = waiting.removeValue(forKey: id)!
                let prompt = job.request.promptTokens
                let (index, prefix) = Self.slot(for: prompt, among: freeStates)
                let source = freeStates[index], state: LlamaState
                if prefix > 0 && source.history.count > prefix && freeStates.count > 1 {
                    // The slot holds more than the shared start (another conversation that may go
                    // on): the start is copied into the slot freed longest ago instead.
                    state = freeStates.remove(at: index == 0 ? 1 : 0)
                    state.copyPrefix(of: source, count: prefix)
                } else {
                    state = freeStates.remove(at: index)
                    state.keep(prefix: prefix)
                }
                machine.reused(id: id, prefix: prefix)
                let sequence = Sequence(job: job, state: state, tokenizer: model.tokenizer)
                sequence.cachedPromptTokens = prefix
                running[id] = sequence
                if sequence.finished { finish(sequence) }
            }
        }

        /// The free slot whose cache holds the longest start of `prompt` (a shared system prompt,
        /// or the conversation so far — answers included — when a chat goes on), and how many
        /// tokens of it to keep: all but the prompt's last at most, whose logits are wanted. With
        /// none shared, the slot freed longest ago, so the recent ones stay for the next match.
        static func slot(for prompt: [Int32], among states: [LlamaState]) -> (index: Int, prefix: Int) {
            var best = (index: 0, prefix: 0)
            for (index, state) in states.enumerated() {
                let shared = min(state.sharedPrefix(with: prompt), max(0, prompt.count - 1))
                if shared > best.prefix || (shared == best.prefix && shared > 0) { best = (index, shared) }
            }
            return best
        }

        private func finishCancelled() {
            let (waited, ran) = machine.cancel { id in
                (self.waiting[id] ?? self.running[id]?.job)?.handle.isCancelled ?? false
            }
            for id in waited {
                let job = waiting.removeValue(forKey: id)!
                inbox.load.subtract(1, ordering: .relaxed)
                job.onFinish(GenerationResult(finishReason: .stop, promptTokens: job.request.promptTokens.count,
                                              completionTokens: 0, cancelled: true))
            }
            for id in ran {
                let sequence = running[id]!
                sequence.completion.cancel()
                release(sequence)
            }
        }

        private func finish(_ sequence: Sequence) {
            machine.finished(id: sequence.job.id)
            release(sequence)
        }

        /// The load drops before the caller hears of the end, so a caller that saw every end sees none left.
        private func release(_ sequence: Sequence) {
            running[sequence.job.id] = nil
            freeStates.append(sequence.state)
            inbox.load.subtract(1, ordering: .relaxed)
            var result = sequence.completion.result
            result.cachedPromptTokens = sequence.cachedPromptTokens
            sequence.job.onFinish(result)
        }
    }

    /// A running generation: its slot, its answer so far, its next token.
    private final class Sequence: @unchecked Sendable {
        // @unchecked: used only on the scheduler's thread, but for `choose`, which a compute thread
        // may run while the scheduler's thread waits for it.
        let job: Job
        let state: LlamaState
        var completion: Completion
        var nextToken: Int32?
        var finished = false
        /// Prompt tokens the slot's cache held already.
        var cachedPromptTokens = 0

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

/// Lets a caller stop its generation (the slot is freed at the next step), or hold it while the
/// caller's reader catches up with the text already handed over.
public final class GenerationHandle: Sendable {
    private let cancelled = Atomic<Bool>(false)
    private let paused = Atomic<Bool>(false)
    private let inbox: GenerationScheduler.Inbox

    init(inbox: GenerationScheduler.Inbox) {
        self.inbox = inbox
    }

    public var isCancelled: Bool { cancelled.load(ordering: .relaxed) }
    public var isPaused: Bool { paused.load(ordering: .relaxed) }

    public func cancel() {
        cancelled.store(true, ordering: .relaxed)
        inbox.poke()
    }

    /// Skips this generation's decode steps, keeping its slot, until `resume`.
    public func pause() {
        paused.store(true, ordering: .relaxed)
    }

    public func resume() {
        guard paused.exchange(false, ordering: .relaxed) else { return }
        inbox.poke()
    }
}
