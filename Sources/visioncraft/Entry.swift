import Dispatch
import Foundation
import NIOCore
import NIOPosix

@main
enum Entry {
    static func main() {
        // Swift concurrency's jobs then run on the event-loop threads that do the network I/O, so a
        // request is not handed between thread pools at every await; on few cores that hand-off
        // costs more than the work itself. It must happen before any task starts.
        _ = NIOSingletons.unsafeTryInstallSingletonPosixEventLoopGroupAsConcurrencyGlobalExecutor()
        Task {
            await VisionCraftCommand.main()
            exit(0)
        }
        dispatchMain()
    }
}
