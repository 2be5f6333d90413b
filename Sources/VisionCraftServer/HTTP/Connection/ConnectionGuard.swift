import NIOCore
import NIOHTTPTypes

/// One per connection, behind the HTTP codec: closes connections whose client is too slow or
/// silent (see `ConnectionTimeouts`), and tells a response in progress when its client hangs up.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let departure = ClientDeparture()
    private var state: StateMachine
    /// The pending check and the deadline it was set for.
    private var check: (task: Scheduled<Void>, at: NIODeadline)?

    init(timeouts: ConnectionTimeouts) {
        state = StateMachine(timeouts: timeouts, now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        state = StateMachine(timeouts: state.timeouts, now: .now())
        schedule(context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.task.cancel()
        check = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: state.headArrived(now: .now())
        case .body(let buffer): state.bodyArrived(bytes: buffer.readableBytes)
        case .end: state.requestEnded(now: .now())
        }
        schedule(context)
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        state.bytesArrived(now: .now())
        schedule(context)
        context.fireChannelReadComplete()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            state.responseEnded(now: .now())
            schedule(context)
        }
        context.write(data, promise: promise)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event { departure.signal() }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        departure.signal()
        check?.task.cancel()
        check = nil
        context.fireChannelInactive()
    }

    /// Keeps one check pending, at the current deadline or earlier; a check that finds the
    /// deadline moved on (a body still arriving) schedules the next.
    private func schedule(_ context: ChannelHandlerContext) {
        guard let deadline = state.deadline else { return }
        if let check, check.at <= deadline { return }
        check?.task.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        check = (context.eventLoop.scheduleTask(deadline: deadline) {
            let (handler, context) = loopBound.value
            handler.check = nil
            if handler.state.hasExpired(now: .now()) {
                context.close(promise: nil)
            } else {
                handler.schedule(context)
            }
        }, deadline)
    }
}
