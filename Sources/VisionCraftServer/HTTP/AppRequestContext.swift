import Hummingbird
import NIOCore

/// The request context of every route: Hummingbird's basics plus the connection the request came
/// on, so a long response can learn that its client has left.
public struct AppRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }
}
