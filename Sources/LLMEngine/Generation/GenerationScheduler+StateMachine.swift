extension GenerationScheduler {
    /// The scheduling rules, as plain state with no model and no threads: which requests hold one
    /// of the `slots`, and what each puts into the next forward pass of at most `room` tokens.
    /// The scheduler's loop runs the passes and tells this what came of them.
    struct StateMachine {
        struct Running: Equatable {
            let id: Int
            let promptCount: Int
            /// Prompt tokens already put into a pass.
            var prompted = 0
            /// Its prompt is in and it has a next token: it decodes one token a pass.
            var decoding = false
        }

        /// What a request puts into the next pass.
        enum Step: Equatable {
            case decode(id: Int)
            /// Prompt tokens `range`; `last` when they end the prompt, so its logits are wanted.
            case prompt(id: Int, range: Range<Int>, last: Bool)
        }

        let slots: Int
        let room: Int
        private(set) var waiting: [(id: Int, promptCount: Int)] = []
        private(set) var running: [Running] = []

        init(slots: Int, room: Int) {
            self.slots = slots
            self.room = room
        }

        var isEmpty: Bool { waiting.isEmpty && running.isEmpty }

        mutating func submit(id: Int, promptCount: Int) {
            waiting.append((id, promptCount))
        }

        /// Takes the `cancelled` requests out: those that waited, and those that held a slot.
        mutating func cancel(_ cancelled: (Int) -> Bool) -> (waited: [Int], ran: [Int]) {
            let waited = waiting.filter { cancelled($0.id) }.map(\.id)
            let ran = running.filter { cancelled($0.id) }.map(\.id)
            waiting.removeAll { cancelled($0.id) }
            running.removeAll { cancelled($0.id) }
            return (waited, ran)
        }

        /// Waiting requests take the free slots, oldest first.
        mutating func admit() -> [Int] {
            var admitted: [Int] = []
            while !waiting.isEmpty && running.count < slots {
                let request = waiting.removeFirst()
                running.append(Running(id: request.id, promptCount: request.promptCount))
                admitted.append(request.id)
            }
            return admitted
        }

        /// The request's slot already holds the first `count` tokens of its prompt (a cached prefix):
        /// its prompt goes on from there.
        mutating func reused(id: Int, prefix count: Int) {
            if let index = running.firstIndex(where: { $0.id == id }) {
                running[index].prompted = min(count, running[index].promptCount)
            }
        }

        /// Every decoding request's next token first (but those whose reader has fallen behind:
        /// `isPaused`), then prompt tokens, oldest request first, while the pass has room. A long
        /// prompt goes in over several passes, so the requests decoding beside it never stall.
        mutating func nextSteps(isPaused: (Int) -> Bool) -> [Step] {
            var steps = running.filter { $0.decoding && !isPaused($0.id) }.map { Step.decode(id: $0.id) }
            var left = room - steps.count
            for index in running.indices where !running[index].decoding && left > 0 {
                let request = running[index]
                let end = min(request.promptCount, request.prompted + left)
                guard end > request.prompted else { continue }
                steps.append(.prompt(id: request.id, range: request.prompted..<end, last: end == request.promptCount))
                left -= end - request.prompted
                running[index].prompted = end
            }
            return steps
        }

        /// The request's last prompt token ran and its first token was chosen.
        mutating func startedDecoding(id: Int) {
            if let index = running.firstIndex(where: { $0.id == id }) { running[index].decoding = true }
        }

        /// The request's answer is complete: its slot is free.
        mutating func finished(id: Int) {
            running.removeAll { $0.id == id }
        }
    }
}
