import NIOConcurrencyHelpers
import Testing
@testable import VisionCraftServer

/// The embedded backend's hand-over of events: a reader that falls behind pauses its generation,
/// one that catches up resumes it, and nothing is lost or reordered meanwhile.
@Suite struct GenerationEventBufferTests {
    final class Generation: PausableGeneration {
        let calls = NIOLockedValueBox<[String]>([])
        func pause() { calls.withLockedValue { $0.append("pause") } }
        func resume() { calls.withLockedValue { $0.append("resume") } }
        func cancel() { calls.withLockedValue { $0.append("cancel") } }
    }

    @Test func aReaderBehindPausesTheGenerationAndCatchingUpResumesIt() async {
        let buffer = GenerationEventBuffer(capacity: 4)
        let generation = Generation()
        buffer.attach(generation)
        for index in 0..<4 { buffer.push(.delta("\(index)")) }
        #expect(generation.calls.withLockedValue { $0 } == ["pause"], "four unread: the generation waits")
        // The scheduler may still hand over the token it had in hand.
        buffer.push(.delta("4"))
        #expect(await buffer.next() == .delta("0"))
        #expect(await buffer.next() == .delta("1"))
        #expect(generation.calls.withLockedValue { $0 } == ["pause"], "three unread: still behind")
        #expect(await buffer.next() == .delta("2"))
        #expect(generation.calls.withLockedValue { $0 } == ["pause", "resume"], "two unread: half of capacity")
        buffer.push(.finished(reason: "stop"))
        buffer.finish()
        #expect(await buffer.next() == .delta("3"))
        #expect(await buffer.next() == .delta("4"))
        #expect(await buffer.next() == .finished(reason: "stop"))
        #expect(await buffer.next() == nil)
    }

    @Test func aWaitingReaderGetsTheNextEventAndTheEnd() async {
        let buffer = GenerationEventBuffer(capacity: 4)
        // Whether the read starts waiting before the push or after it, it gets the event.
        async let first = buffer.next()
        buffer.push(.delta("a"))
        buffer.finish()
        #expect(await first == .delta("a"))
        #expect(await buffer.next() == nil)
    }

    @Test func aCancelledReaderStopsWaiting() async {
        let buffer = GenerationEventBuffer(capacity: 4)
        let reading = Task { await buffer.next() }
        reading.cancel()
        #expect(await reading.value == nil)
    }
}
