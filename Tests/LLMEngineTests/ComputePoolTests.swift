import Foundation
import Synchronization
import Testing

@testable import LLMEngine

/// The compute threads' shared runs: every item done exactly once, a slowed thread's work taken
/// over by the others, and runs from concurrent callers kept apart.
struct ComputePoolTests {
    /// Which thread did each item, from every piece `runShared` hands out.
    final class Record: @unchecked Sendable {
        // @unchecked: guarded by `condition`.
        private let condition = NSCondition()
        private var doneBy: [Int: [Int]] = [:]

        func add(_ items: Range<Int>, thread: Int) {
            condition.withLock { for item in items { doneBy[item, default: []].append(thread) } }
            condition.broadcast()
        }

        var items: [Int: [Int]] { condition.withLock { doneBy } }

        /// Waits until `thread` has done `count` items, or `limit` has passed (only a bound).
        func wait(until thread: Int, hasDone count: Int, limit: TimeInterval) {
            let deadline = Date(timeIntervalSinceNow: limit)
            condition.lock()
            defer { condition.unlock() }
            while doneBy.values.filter({ $0 == [thread] }).count < count && condition.wait(until: deadline) {}
        }
    }

    @Test(arguments: [(2, 1), (2, 7), (2, 48), (3, 2), (3, 100), (4, 1536)])
    func everyItemIsDoneOnce(_ shape: (threads: Int, count: Int)) {
        let pool = ComputePool(threadCount: shape.threads)
        let record = Record()
        pool.runShared(shape.count) { thread, items in record.add(items, thread: thread) }
        let items = record.items
        #expect(items.keys.sorted() == Array(0..<shape.count))
        #expect(items.values.allSatisfy { $0.count == 1 })
    }

    /// `eachThread` runs once on each thread that gets pieces, before the first of them, and on no
    /// thread for no pieces.
    @Test(arguments: [(2, 0), (2, 1), (2, 2), (2, 48), (3, 100)])
    func eachThreadPreparesOnceBeforeItsPieces(_ shape: (threads: Int, count: Int)) {
        let pool = ComputePool(threadCount: shape.threads)
        let lock = NSLock()
        var events: [(thread: Int, items: Range<Int>?)] = []
        pool.runShared(shape.count, eachThread: { thread in
            lock.withLock { events.append((thread, nil)) }
        }) { thread, items in
            lock.withLock { events.append((thread, items)) }
        }
        for thread in 0..<shape.threads {
            let mine = events.filter { $0.thread == thread }
            let preparations = mine.filter { $0.items == nil }.count
            let pieces = mine.compactMap(\.items).filter { !$0.isEmpty }.count
            #expect(preparations == (pieces > 0 ? 1 : 0), "thread \(thread): \(preparations) for \(pieces) pieces")
            if pieces > 0 { #expect(mine.first?.items == nil, "thread \(thread) prepared after a piece") }
        }
        #expect(events.compactMap(\.items).map(\.count).reduce(0, +) == shape.count)
    }

    @Test func aSlowThreadsItemsAreTakenOver() {
        let pool = ComputePool(threadCount: 2)
        let record = Record()
        let holding = Mutex(true)
        pool.runShared(40) { thread, items in
            // Thread 1 holds on to its first piece until thread 0 has done more than its own share
            // of 20, which it can only do by taking over thread 1's other items.
            if thread == 1, holding.withLock({ held in defer { held = false }; return held }) {
                record.wait(until: 0, hasDone: 26, limit: 10)
            }
            record.add(items, thread: thread)
        }
        let byThread0 = record.items.values.filter { $0 == [0] }.count
        #expect(byThread0 > 25, "thread 0 did \(byThread0) of 40")
    }

    @Test func concurrentCallersGetTheirOwnItems() async {
        let pool = ComputePool(threadCount: 2)
        let failures = await withTaskGroup(of: Int.self) { group in
            for caller in 0..<4 {
                group.addTask {
                    var failures = 0
                    for round in 0..<200 {
                        let count = 1 + (caller * 37 + round) % 50
                        let record = Record()
                        pool.runShared(count) { thread, items in record.add(items, thread: thread) }
                        let items = record.items
                        if items.keys.sorted() != Array(0..<count) || !items.values.allSatisfy({ $0.count == 1 }) {
                            failures += 1
                        }
                    }
                    return failures
                }
            }
            return await group.reduce(0, +)
        }
        #expect(failures == 0)
    }
}
