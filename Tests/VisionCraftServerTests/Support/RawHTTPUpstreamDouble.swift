import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// An HTTP/1.1 server on a loopback socket that answers each request with bytes written by hand,
/// for the connection-level behaviours a framework would hide: a kept-alive connection the server
/// drops without saying so, `Connection: close`, chunked bodies, silence. Counts connections and
/// the requests it answered.
final class RawHTTPUpstreamDouble: Sendable {
    enum Behaviour: Sendable {
        /// `200` with a Content-Length body; the connection stays open.
        case keepAlive
        /// As `keepAlive`, then the connection is closed 50 ms later without a `Connection: close`
        /// header, as an upstream dropping an idle kept-alive connection does; a request that
        /// arrives meanwhile is never answered.
        case dropAfterResponse
        /// `200` with `Connection: close`, then closes.
        case connectionClose
        /// `200` with a chunked body in three chunks.
        case chunked
        /// Reads the request and never answers.
        case silent
    }

    static let body = #"{"answer":"hello from the raw double"}"#

    let behaviour: Behaviour
    private let counts = NIOLockedValueBox((connections: 0, requests: 0))

    var connections: Int { counts.withLockedValue { $0.connections } }
    var requests: Int { counts.withLockedValue { $0.requests } }

    init(_ behaviour: Behaviour) {
        self.behaviour = behaviour
    }

    func run<Result: Sendable>(_ body: @Sendable (_ port: Int) async throws -> Result) async throws -> Result {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                self.counts.withLockedValue { $0.connections += 1 }
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Responder(double: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await body(channel.localAddress!.port!)
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private final class Responder: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let double: RawHTTPUpstreamDouble
        private var received = ByteBuffer()
        private var dropping = false

        init(double: RawHTTPUpstreamDouble) {
            self.double = double
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            guard !dropping else { return }
            var part = unwrapInboundIn(data)
            received.writeBuffer(&part)
            while let request = takeRequest() {
                _ = request
                double.counts.withLockedValue { $0.requests += 1 }
                respond(context: context)
            }
        }

        /// One whole request (head and Content-Length body) off the front of what was received.
        private func takeRequest() -> String? {
            let text = String(buffer: received)
            guard let headEnd = text.range(of: "\r\n\r\n") else { return nil }
            let head = text[..<headEnd.lowerBound]
            let length = head.split(separator: "\r\n")
                .first { $0.lowercased().hasPrefix("content-length:") }
                .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
            let total = text.utf8.distance(from: text.startIndex, to: headEnd.upperBound) + length
            guard received.readableBytes >= total else { return nil }
            return received.readString(length: total)
        }

        private func respond(context: ChannelHandlerContext) {
            let body = RawHTTPUpstreamDouble.body
            let whole = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n"
            switch double.behaviour {
            case .keepAlive:
                write(whole + "\r\n" + body, context: context)
            case .dropAfterResponse:
                write(whole + "\r\n" + body, context: context)
                dropping = true
                let channel = context.channel
                context.eventLoop.scheduleTask(in: .milliseconds(50)) { channel.close(promise: nil) }
            case .connectionClose:
                write(whole + "Connection: close\r\n\r\n" + body, context: context)
                context.close(promise: nil)
            case .chunked:
                let thirds = [body.prefix(10), body.dropFirst(10).prefix(10), body.dropFirst(20)]
                var text = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                for chunk in thirds { text += String(chunk.utf8.count, radix: 16) + "\r\n" + chunk + "\r\n" }
                write(text + "0\r\n\r\n", context: context)
            case .silent:
                break
            }
        }

        private func write(_ text: String, context: ChannelHandlerContext) {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: text)), promise: nil)
        }
    }
}
