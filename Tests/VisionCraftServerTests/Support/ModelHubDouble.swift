import Crypto
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A stand-in for the Hugging Face hub's file endpoint (`/{owner}/{repo}/resolve/{revision}/{path}`)
/// over a real socket: serves one file whole or from a `Range: bytes=N-`, announces its SHA-256 as
/// Hugging Face does for large files (`X-Linked-Etag`), and can break its first answer off after
/// `cutAfter` bytes (written and flushed, then the connection closed) as a dropped download is.
final class ModelHubDouble: Sendable {
    let file: [UInt8]
    let path: String
    let cutAfter: Int?
    let announcedSHA256: String
    private let state = NIOLockedValueBox((requests: 0, ranges: [String?]()))

    var ranges: [String?] { state.withLockedValue { $0.ranges } }

    init(file: [UInt8], path: String, cutAfter: Int? = nil, announcedSHA256: String? = nil) {
        self.file = file
        self.path = path
        self.cutAfter = cutAfter
        self.announcedSHA256 = announcedSHA256 ?? SHA256.hash(data: file).map { String(format: "%02x", $0) }.joined()
    }

    func run<Result: Sendable>(_ body: @Sendable (_ endpoint: String) async throws -> Result) async throws -> Result {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.pipeline.configureHTTPServerPipeline().flatMapThrowing {
                    try channel.pipeline.syncOperations.addHandler(Responder(double: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        do {
            let result = try await body("http://127.0.0.1:\(channel.localAddress!.port!)")
            try await channel.close()
            return result
        } catch {
            try? await channel.close()
            throw error
        }
    }

    private final class Responder: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        let double: ModelHubDouble
        private var head: HTTPRequestHead?

        init(double: ModelHubDouble) {
            self.double = double
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head else { return }
                respond(to: head, context: context)
            }
        }

        private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
            let range = head.headers.first(name: "Range")
            let index = double.state.withLockedValue { state in
                state.ranges.append(range)
                state.requests += 1
                return state.requests
            }
            guard head.uri == double.path else {
                var headers = HTTPHeaders([("Content-Length", "0")])
                headers.add(name: "X-Error-Code", value: "EntryNotFound")
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
                return
            }
            var start = 0
            if let range, range.hasPrefix("bytes="), range.hasSuffix("-"), let from = Int(range.dropFirst(6).dropLast()) {
                start = from
            }
            var headers = HTTPHeaders()
            headers.add(name: "Content-Length", value: String(double.file.count - start))
            headers.add(name: "X-Linked-Etag", value: "\"\(double.announcedSHA256)\"")
            headers.add(name: "Accept-Ranges", value: "bytes")
            if start > 0 { headers.add(name: "Content-Range", value: "bytes \(start)-\(double.file.count - 1)/\(double.file.count)") }
            let status: HTTPResponseStatus = start > 0 ? .partialContent : .ok
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            var body = Array(double.file[start...])
            let cut = index == 1 ? double.cutAfter : nil
            if let cut { body = Array(body.prefix(cut)) }
            let written = context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: body)))))
            if cut != nil {
                // Only once the bytes are on their way does the connection drop.
                written.whenComplete { _ in context.close(promise: nil) }
            } else {
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            }
        }
    }
}
