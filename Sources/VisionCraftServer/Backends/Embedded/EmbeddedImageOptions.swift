/// How the embedded image engine runs: its threads, and how many jobs may wait for them.
public struct EmbeddedImageOptions: Sendable, Equatable {
    public var threads: Int
    public var queueCapacity: Int

    public init(threads: Int, queueCapacity: Int) {
        self.threads = threads
        self.queueCapacity = queueCapacity
    }
}
