import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// One TCP connection to a server under test, written to and read byte by byte, for what an HTTP
/// client library hides: half-sent requests, malformed chunking, a second request on a connection
/// after a stream, and whether (and when) the server closes it.
final class RawHTTPConnection {
    struct Response {
        var status: Int
        var headers: [(name: String, value: String)]
        var body: String

        func header(_ name: String) -> String? {
            headers.first { $0.name.lowercased() == name.lowercased() }?.value
        }
    }

    private let channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>
    private var inbound: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
    private let outbound: NIOAsyncChannelOutboundWriter<ByteBuffer>
    private var received = ByteBuffer()
    private var closed = false

    private init(channel: NIOAsyncChannel<ByteBuffer, ByteBuffer>) {
        self.channel = channel
        inbound = channel.inbound.makeAsyncIterator()
        outbound = channel.outbound
    }

    static func connect(port: Int) async throws -> RawHTTPConnection {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        return RawHTTPConnection(channel: channel)
    }

    func send(_ text: String) async throws {
        try await outbound.write(ByteBuffer(string: text))
    }

    /// A POST with a JSON body and a `Content-Length`, as any client sends it.
    func post(_ path: String, json: String, headers: [String] = []) async throws {
        let head = (["POST \(path) HTTP/1.1", "Host: 127.0.0.1", "Content-Type: application/json",
                     "Content-Length: \(json.utf8.count)"] + headers).joined(separator: "\r\n")
        try await send(head + "\r\n\r\n" + json)
    }

    /// The next whole response, or nil if the connection closed first (the server closed it, or
    /// nothing came within `limit`, which is only a bound: the answer comes as soon as it can).
    func readResponse(within limit: TimeAmount = .seconds(30)) async throws -> Response? {
        try await bounded(by: limit) {
            while true {
                if let response = try parseResponse() { return response }
                guard try await readMore() else { return nil }
            }
        }.value
    }

    /// Whether the server closes the connection within `limit`, reading past anything it sends.
    func isClosedByServer(within limit: TimeAmount) async throws -> Bool {
        let outcome = try await bounded(by: limit) { while try await readMore() {} }
        return !outcome.timedOut
    }

    /// Runs `body`, closing the connection (which ends any read) if it takes longer than `limit`.
    private func bounded<Value>(by limit: TimeAmount, _ body: () async throws -> Value) async throws
        -> (value: Value, timedOut: Bool)
    {
        let timedOut = NIOLockedValueBox(false)
        let timer = channel.channel.eventLoop.scheduleTask(in: limit) { [channel] in
            timedOut.withLockedValue { $0 = true }
            channel.channel.close(promise: nil)
        }
        defer { timer.cancel() }
        let value = try await body()
        return (value, timedOut.withLockedValue { $0 })
    }

    func close() {
        outbound.finish()
        channel.channel.close(promise: nil)
    }

    deinit {
        // NIO insists that a writer is finished before it goes.
        outbound.finish()
    }

    private func readMore() async throws -> Bool {
        guard !closed else { return false }
        do {
            guard var buffer = try await inbound.next() else {
                closed = true
                return false
            }
            received.writeBuffer(&buffer)
            return true
        } catch {
            closed = true
            return false
        }
    }

    /// One response off the front of what was received: its head, then a body of `Content-Length`
    /// bytes or in chunks up to the last one.
    private func parseResponse() throws -> Response? {
        let bytes = Array(received.readableBytesView)
        guard let headEnd = Self.find([13, 10, 13, 10], in: bytes, from: 0) else { return nil }
        let lines = String(decoding: bytes[..<headEnd], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(lines[0].split(separator: " ")[1]) ?? 0
        let headers = lines.dropFirst().compactMap { line -> (name: String, value: String)? in
            guard let colon = line.firstIndex(of: ":") else { return nil }
            return (String(line[..<colon]), line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces))
        }
        var response = Response(status: status, headers: headers, body: "")
        var position = headEnd + 4
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            var body: [UInt8] = []
            while true {
                guard let lineEnd = Self.find([13, 10], in: bytes, from: position),
                      let size = Int(String(decoding: bytes[position..<lineEnd], as: UTF8.self), radix: 16)
                else { return nil }
                let start = lineEnd + 2
                guard bytes.count >= start + size + 2 else { return nil }
                body += bytes[start..<start + size]
                position = start + size + 2
                if size == 0 { break }
            }
            response.body = String(decoding: body, as: UTF8.self)
        } else {
            let length = response.header("Content-Length").flatMap(Int.init) ?? 0
            guard bytes.count >= position + length else { return nil }
            response.body = String(decoding: bytes[position..<position + length], as: UTF8.self)
            position += length
        }
        received.moveReaderIndex(forwardBy: position)
        received.discardReadBytes()
        return response
    }

    private static func find(_ needle: [UInt8], in bytes: [UInt8], from start: Int) -> Int? {
        guard bytes.count >= needle.count else { return nil }
        var index = start
        while index + needle.count <= bytes.count {
            if bytes[index..<index + needle.count].elementsEqual(needle) { return index }
            index += 1
        }
        return nil
    }
}
