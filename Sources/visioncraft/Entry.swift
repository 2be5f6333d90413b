import Dispatch
import Foundation
import LLMKernels
import NIOCore
import NIOPosix

@main
enum Entry {
    static func main() {
        // Swift concurrency's jobs then run on the event-loop threads that do the network I/O, so a
        // request is not handed between thread pools at every await; on few cores that hand-off
        // costs more than the work itself. It must happen before any task starts.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        // The diffusion engine's feature maps are tens to hundreds of megabytes, allocated and freed
        // per layer; mapped afresh each time, their pages were zeroed by the kernel for a sixth of
        // a 512² image's time (profiled).
        llmk_keep_large_blocks()
        Task {
            await VisionCraftCommand.main()
            exit(0)
        }
        dispatchMain()
    }
}
