import Foundation
import LLMKernels

/// How a compute thread waits for another for what should take microseconds: it spins (pause
/// instructions, ~20 ns each) for about 4 µs, then yields its core at each turn — on a machine with
/// more runnable threads than cores the awaited thread may be the one the spinning keeps off it.
struct SpinWait {
    private var spins = 0
    private static let limit = 200

    mutating func pause() {
        spins += 1
        if spins < Self.limit { llmk_cpu_relax() } else { sched_yield() }
    }
}
