import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// Whole request–response exchanges with one plain-HTTP upstream, over kept-alive connections that
/// belong to the event loop the caller runs on.
///
/// Why not AsyncHTTPClient here: it hands every request between its pool, the connection's loop
/// and the waiting task, and on two cores those hand-offs cost more than the exchange itself
/// (docs/benchmarks.md, gateway). With Swift concurrency
/// running on the event loops (see `Entry`), a connection on the caller's loop keeps the whole
/// exchange on one thread. Streams, HTTPS and HTTP/2 stay with AsyncHTTPClient.
final class LoopLocalHTTPClient: Sendable {
    struct Response: Sendable {
        var status: HTTPResponseStatus
        var body: ByteBuffer
    }

    enum Failure: Error, Equatable {
        case timedOut
        /// The connection ended before the response did.
        case connectionLost(beforeResponse: Bool)
        case responseTooLarge
    }

    static let maximumResponseBytes = 64 * 1024 * 1024
    /// Idle connections kept per loop; more are closed as they come free.
    static let maximumIdlePerLoop = 256
    /// A connection idle this long is closed rather than reused: upstreams drop idle keep-alive
    /// connections after a while (nginx after 75 s), and a request sent into one that is closing
    /// fails.
    static let idleLifetime = TimeAmount.seconds(50)

    let host: String
    let port: Int
    let connectTimeout: TimeAmount
    let readTimeout: TimeAmount
    private let group: any EventLoopGroup
    private let idle = NIOLockedValueBox<[ObjectIdentifier: NIOLoopBoundBox<[LoopLocalExchangeHandler]>]>([:])

    init(host: String, port: Int, connectTimeout: TimeAmount, readTimeout: TimeAmount,
         group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.host = host
        self.port = port
        self.connectTimeout = connectTimeout
        self.readTimeout = readTimeout
        self.group = group
    }

    /// Sends `body` to `path` and returns the whole response. `headTimeout` bounds the wait for the
    /// response head; the read timeout bounds every silence after it. Cancelling the task closes
    /// the connection.
    func send(
        _ method: HTTPMethod, _ path: String, headers: HTTPHeaders, body: ByteBuffer?, headTimeout: TimeAmount
    ) async throws -> Response {
        // Under the event-loop executor this is the loop the task runs on, so nothing changes thread.
        let loop = group.any()
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        head.headers.replaceOrAdd(name: "Host", value: port == 80 ? host : "\(host):\(port)")
        head.headers.replaceOrAdd(name: "Content-Length", value: "\(body?.readableBytes ?? 0)")
        let request = Request(head: head, body: body, headTimeout: headTimeout)
        let promise = loop.makePromise(of: Response.self)
        let state = NIOLoopBoundBox.makeBoxSendingValue(ExchangeState(), eventLoop: loop)
        return try await withTaskCancellationHandler {
            if loop.inEventLoop {
                start(request, on: loop, promise: promise, state: state, reuse: true)
            } else {
                loop.execute { self.start(request, on: loop, promise: promise, state: state, reuse: true) }
            }
            return try await promise.futureResult.get()
        } onCancel: {
            loop.execute {
                state.value.isCancelled = true
                state.value.handler?.abandon(CancellationError())
                promise.fail(CancellationError())
            }
        }
    }

    /// Closes the idle connections; exchanges in flight finish on theirs.
    func shutdown() {
        for box in idle.withLockedValue({ Array($0.values) }) {
            box.eventLoop.execute {
                for handler in box.value { handler.abandon(CancellationError()) }
                box.value.removeAll()
            }
        }
    }

    private struct Request: Sendable {
        var head: HTTPRequestHead
        var body: ByteBuffer?
        var headTimeout: TimeAmount
    }

    /// What a cancellation must reach; touched on the exchange's loop only.
    private final class ExchangeState {
        var handler: LoopLocalExchangeHandler?
        var isCancelled = false
    }

    private func start(
        _ request: Request, on loop: any EventLoop, promise: EventLoopPromise<Response>,
        state: NIOLoopBoundBox<ExchangeState>, reuse: Bool
    ) {
        if reuse, let handler = takeIdle(on: loop) {
            run(request, on: handler, promise: promise, state: state, reused: true)
            return
        }
        connect(on: loop).assumeIsolated().whenComplete { result in
            switch result {
            case .success(let channel):
                do {
                    let handler = try channel.pipeline.syncOperations.handler(type: LoopLocalExchangeHandler.self)
                    self.run(request, on: handler, promise: promise, state: state, reused: false)
                } catch {
                    channel.close(promise: nil)
                    promise.fail(error)
                }
            case .failure(let error):
                promise.fail(error)
            }
        }
    }

    /// Runs the exchange on `handler`. A reused connection the upstream closed before answering is
    /// retried once on a fresh one: the upstream never saw the request.
    private func run(
        _ request: Request, on handler: LoopLocalExchangeHandler, promise: EventLoopPromise<Response>,
        state: NIOLoopBoundBox<ExchangeState>, reused: Bool
    ) {
        let loop = promise.futureResult.eventLoop
        guard !state.value.isCancelled else {
            handler.abandon(CancellationError())
            return
        }
        state.value.handler = handler
        let attempt = loop.makePromise(of: Response.self)
        handler.start(head: request.head, body: request.body, promise: attempt,
                      headTimeout: request.headTimeout, readTimeout: readTimeout)
        attempt.futureResult.assumeIsolated().whenComplete { result in
            state.value.handler = nil
            if case .failure(Failure.connectionLost(beforeResponse: true)) = result, reused, !state.value.isCancelled {
                self.start(request, on: loop, promise: promise, state: state, reuse: false)
            } else {
                promise.completeWith(result)
            }
        }
    }

    private func takeIdle(on loop: any EventLoop) -> LoopLocalExchangeHandler? {
        let box = idleConnections(on: loop)
        let now = NIODeadline.now()
        while let handler = box.value.popLast() {
            if !handler.isRetired && now - handler.idleSince < Self.idleLifetime { return handler }
            handler.abandon(CancellationError())
        }
        return nil
    }

    private func idleConnections(on loop: any EventLoop) -> NIOLoopBoundBox<[LoopLocalExchangeHandler]> {
        idle.withLockedValue { boxes in
            if let box = boxes[ObjectIdentifier(loop)] { return box }
            let box = NIOLoopBoundBox.makeBoxSendingValue([LoopLocalExchangeHandler](), eventLoop: loop)
            boxes[ObjectIdentifier(loop)] = box
            return box
        }
    }

    private func connect(on loop: any EventLoop) -> EventLoopFuture<any Channel> {
        let box = idleConnections(on: loop)
        return ClientBootstrap(group: loop)
            .connectTimeout(connectTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let handler = LoopLocalExchangeHandler()
                    handler.onReusable = { handler in
                        if box.value.count < Self.maximumIdlePerLoop {
                            box.value.append(handler)
                        } else {
                            handler.abandon(CancellationError())
                        }
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
            .connect(host: host, port: port)
    }
}
