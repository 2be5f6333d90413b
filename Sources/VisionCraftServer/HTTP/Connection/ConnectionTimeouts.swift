import NIOCore

/// How long a connection may keep the server waiting, as nginx's `client_header_timeout`,
/// `keepalive_timeout` and Apache's minimum body rate (`mod_reqtimeout`) bound it: a client that
/// sends nothing, half a request, or a body a byte at a time loses its connection instead of
/// holding it (and the memory behind it) for ever.
public struct ConnectionTimeouts: Sendable, Equatable {
    /// From the first byte of a request to the end of its head.
    public var header: TimeAmount
    /// A connection with no request in progress.
    public var keepAlive: TimeAmount
    /// The time a body may take before `minimumBodyRate` applies…
    public var bodyGrace: TimeAmount
    /// …and the bytes per second it must average after that.
    public var minimumBodyRate: Int

    public init(header: TimeAmount = .seconds(10), keepAlive: TimeAmount = .seconds(60),
                bodyGrace: TimeAmount = .seconds(10), minimumBodyRate: Int = 1024) {
        self.header = header
        self.keepAlive = keepAlive
        self.bodyGrace = bodyGrace
        self.minimumBodyRate = max(1, minimumBodyRate)
    }
}
