import Testing
@testable import LLMEngine

/// The scheduler's rules with no model: slots, passes, pauses and cancellations.
@Suite struct GenerationSchedulerStateMachineTests {
    typealias Machine = GenerationScheduler.StateMachine

    @Test func requestsTakeFreeSlotsOldestFirst() {
        var machine = Machine(slots: 2, room: 10)
        for id in 1...3 { machine.submit(id: id, promptCount: 4) }
        #expect(machine.admit() == [1, 2])
        #expect(machine.waiting.map(\.id) == [3])
        machine.finished(id: 1)
        #expect(machine.admit() == [3])
        #expect(machine.running.map(\.id) == [2, 3])
    }

    @Test func aPromptWhoseStartTheSlotHoldsGoesOnFromThere() {
        var machine = Machine(slots: 1, room: 8)
        machine.submit(id: 1, promptCount: 12)
        _ = machine.admit()
        machine.reused(id: 1, prefix: 9)
        #expect(machine.nextSteps { _ in false } == [.prompt(id: 1, range: 9..<12, last: true)])
    }

    @Test func decodersGoFirstAndALongPromptTakesWhatRoomIsLeftPassByPass() {
        var machine = Machine(slots: 3, room: 8)
        machine.submit(id: 1, promptCount: 3)
        machine.submit(id: 2, promptCount: 12)
        _ = machine.admit()
        #expect(machine.nextSteps { _ in false } == [
            .prompt(id: 1, range: 0..<3, last: true), .prompt(id: 2, range: 0..<5, last: false),
        ])
        machine.startedDecoding(id: 1)
        #expect(machine.nextSteps { _ in false } == [.decode(id: 1), .prompt(id: 2, range: 5..<12, last: true)])
        // The prompt is all in, its first token not chosen yet: nothing more of it to run.
        #expect(machine.nextSteps { _ in false } == [.decode(id: 1)])
        machine.startedDecoding(id: 2)
        #expect(machine.nextSteps { _ in false } == [.decode(id: 1), .decode(id: 2)])
    }

    @Test func aPausedDecoderSitsOutKeepingItsSlot() {
        var machine = Machine(slots: 2, room: 8)
        machine.submit(id: 1, promptCount: 2)
        machine.submit(id: 2, promptCount: 2)
        _ = machine.admit()
        _ = machine.nextSteps { _ in false }
        machine.startedDecoding(id: 1)
        machine.startedDecoding(id: 2)
        #expect(machine.nextSteps { $0 == 1 } == [.decode(id: 2)])
        #expect(machine.nextSteps { _ in true }.isEmpty, "every reader behind: nothing to run")
        #expect(machine.running.count == 2)
        #expect(machine.nextSteps { _ in false } == [.decode(id: 1), .decode(id: 2)])
    }

    @Test func cancellingFreesWaitingAndRunningRequests() {
        var machine = Machine(slots: 1, room: 8)
        for id in 1...3 { machine.submit(id: id, promptCount: 2) }
        #expect(machine.admit() == [1])
        let (waited, ran) = machine.cancel { $0 != 3 }
        #expect(waited == [2])
        #expect(ran == [1])
        #expect(machine.admit() == [3], "the freed slot goes to the one still waiting")
        #expect(machine.cancel { _ in true } == (waited: [], ran: [3]))
        #expect(machine.isEmpty)
    }
}
