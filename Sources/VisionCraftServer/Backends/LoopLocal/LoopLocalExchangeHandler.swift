import NIOCore
import NIOHTTP1

/// One upstream connection's side of `LoopLocalHTTPClient`: sends a request, gathers the whole
/// response, and says whether the connection may carry another. Lives on its channel's loop.
final class LoopLocalExchangeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private struct Exchange {
        let promise: EventLoopPromise<LoopLocalHTTPClient.Response>
        let headDeadline: NIODeadline
        let readTimeout: TimeAmount
        var lastActivity: NIODeadline
        var status: HTTPResponseStatus?
        var keepAlive = false
        var body: ByteBuffer?

        /// When silence ends the exchange: the head has its own deadline, and no gap between
        /// reads may exceed the read timeout.
        var dueTime: NIODeadline {
            let readDue = lastActivity + readTimeout
            return status == nil ? min(headDeadline, readDue) : readDue
        }
    }

    private var exchange: Exchange?
    private var context: ChannelHandlerContext?
    private var watchdog: Scheduled<Void>?
    /// Called when an exchange ended cleanly on a connection that stays open.
    var onReusable: ((LoopLocalExchangeHandler) -> Void)?
    /// Set once the connection must not carry another exchange.
    private(set) var isRetired = false
    /// Whether the upstream sent anything for the exchange in flight; a kept-alive connection the
    /// upstream had closed fails before that, and only then is the request safe to send again.
    private(set) var hasResponseBytes = false
    private(set) var idleSince = NIODeadline.now()

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes the request in one flush and answers `promise` with the whole response.
    func start(
        head: HTTPRequestHead, body: ByteBuffer?, promise: EventLoopPromise<LoopLocalHTTPClient.Response>,
        headTimeout: TimeAmount, readTimeout: TimeAmount
    ) {
        guard let context, !isRetired, exchange == nil else {
            promise.fail(LoopLocalHTTPClient.Failure.connectionLost(beforeResponse: true))
            return
        }
        let now = NIODeadline.now()
        exchange = Exchange(promise: promise, headDeadline: now + headTimeout, readTimeout: readTimeout, lastActivity: now)
        hasResponseBytes = false
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        armWatchdog()
    }

    /// Ends the exchange in flight, if any, with `error` and closes the connection.
    func abandon(_ error: any Error) {
        fail(error)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var exchange else {
            // Nothing was asked: an upstream that talks out of turn cannot be trusted with the next request.
            retire()
            return
        }
        hasResponseBytes = true
        exchange.lastActivity = .now()
        switch unwrapInboundIn(data) {
        case .head(let head):
            exchange.status = head.status
            exchange.keepAlive = head.isKeepAlive
            self.exchange = exchange
        case .body(var part):
            if exchange.body == nil {
                exchange.body = part
            } else {
                exchange.body!.writeBuffer(&part)
            }
            self.exchange = exchange
            if exchange.body!.readableBytes > LoopLocalHTTPClient.maximumResponseBytes {
                fail(LoopLocalHTTPClient.Failure.responseTooLarge)
            }
        case .end:
            self.exchange = nil
            watchdog?.cancel()
            watchdog = nil
            idleSince = .now()
            if exchange.keepAlive {
                onReusable?(self)
            } else {
                retire()
            }
            exchange.promise.succeed(.init(
                status: exchange.status ?? .internalServerError, body: exchange.body ?? ByteBuffer()))
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(LoopLocalHTTPClient.Failure.connectionLost(beforeResponse: !hasResponseBytes))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // An upstream that closes a kept-alive connection with our request unread resets it: the
        // same lost connection as a plain close, and just as safe to retry before any answer.
        fail(hasResponseBytes ? error : LoopLocalHTTPClient.Failure.connectionLost(beforeResponse: true))
    }

    private func fail(_ error: any Error) {
        watchdog?.cancel()
        watchdog = nil
        let exchange = self.exchange
        self.exchange = nil
        retire()
        exchange?.promise.fail(error)
    }

    private func retire() {
        guard !isRetired else { return }
        isRetired = true
        context?.close(promise: nil)
    }

    private func armWatchdog() {
        guard let context, let due = exchange?.dueTime else { return }
        watchdog = context.eventLoop.assumeIsolated().scheduleTask(deadline: due) { [self] in
            // Reads move the due time without rescheduling; only a real silence ends the exchange.
            guard let exchange else { return }
            if NIODeadline.now() >= exchange.dueTime {
                fail(LoopLocalHTTPClient.Failure.timedOut)
            } else {
                armWatchdog()
            }
        }
    }
}
