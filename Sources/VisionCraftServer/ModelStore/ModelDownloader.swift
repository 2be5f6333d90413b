import AsyncHTTPClient
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// Downloads a model file into the models folder: into `<name>.part` first, resuming a partial
/// file with a `Range` request (across runs, and up to `attempts` times when a connection breaks
/// within one), checked against a SHA-256 when one is known — given by the operator, or the one
/// Hugging Face sends for large files (`X-Linked-Etag`) — and renamed into place only when whole.
public struct ModelDownloader: Sendable {
    public enum Event: Sendable {
        case resuming(from: Int64)
        case progress(received: Int64, total: Int64?)
        case retrying(after: String)
        case verified(sha256: String)
    }

    let client: HTTPClient
    let attempts: Int

    public init(client: HTTPClient, attempts: Int = 5) {
        self.client = client
        self.attempts = attempts
    }

    /// The final path of the file.
    public func pull(
        _ source: ModelSource, modelsDirectory: String, sha256 expected: String? = nil,
        events: @Sendable (Event) -> Void = { _ in }
    ) async throws -> String {
        let target = source.destination(in: modelsDirectory)
        let partial = target + ".part"
        try FileManager.default.createDirectory(
            atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if FileManager.default.fileExists(atPath: target) { return target }
        var announced = expected?.lowercased()
        var lastError: (any Error)?
        for attempt in 0..<attempts {
            do {
                let digest = try await fetch(source.url, into: partial, events: events)
                announced = announced ?? digest
                if let announced {
                    let actual = try Self.sha256(ofFile: partial)
                    guard actual == announced else {
                        try? FileManager.default.removeItem(atPath: partial)
                        throw ConfigurationError("\(source.fileName): SHA-256 \(actual) is not the expected \(announced); the download was deleted.")
                    }
                    events(.verified(sha256: actual))
                }
                try FileManager.default.moveItem(atPath: partial, toPath: target)
                return target
            } catch let error as ConfigurationError {
                throw error
            } catch {
                lastError = error
                if attempt + 1 < attempts { events(.retrying(after: "\(error)")) }
            }
        }
        throw lastError ?? ConfigurationError("\(source.fileName): the download failed.")
    }

    /// Fetches what `partial` lacks; returns the SHA-256 the server announced, if any.
    private func fetch(_ url: String, into partial: String, events: (Event) -> Void) async throws -> String? {
        var offset = Int64((try? FileManager.default.attributesOfItem(atPath: partial)[.size] as? NSNumber)??.int64Value ?? 0)
        var request = HTTPClientRequest(url: url)
        request.headers.add(name: "User-Agent", value: "visioncraft")
        if offset > 0 {
            request.headers.add(name: "Range", value: "bytes=\(offset)-")
            events(.resuming(from: offset))
        }
        let response = try await client.execute(request, timeout: .hours(24))
        switch response.status.code {
        case 200:
            offset = 0  // the whole file again: the server ignored the range
        case 206:
            break
        case 416 where offset > 0:
            return Self.announcedDigest(response.headers)  // nothing left to fetch
        case 500...:
            throw Interrupted(reason: "\(url) answered \(response.status.code)")  // worth another try
        default:
            throw ConfigurationError("\(url) answered \(response.status.code) \(response.status.reasonPhrase).")
        }
        let digest = Self.announcedDigest(response.headers)
        let length = response.headers.first(name: "Content-Length").flatMap(Int64.init)
        let total = length.map { $0 + offset }
        if offset == 0 { FileManager.default.createFile(atPath: partial, contents: nil) }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(offset))
        try handle.seek(toOffset: UInt64(offset))
        var received = offset, reported = offset
        for try await chunk in response.body {
            try handle.write(contentsOf: chunk.readableBytesView)
            received += Int64(chunk.readableBytes)
            if received - reported >= 8 << 20 {
                events(.progress(received: received, total: total))
                reported = received
            }
        }
        events(.progress(received: received, total: total))
        if let total, received != total {
            throw Interrupted(reason: "the body ended at \(received) of \(total) bytes")
        }
        return digest
    }

    /// A download that stopped short; the next attempt resumes it.
    struct Interrupted: Error, CustomStringConvertible {
        var reason: String
        var description: String { reason }
    }

    /// Hugging Face gives a large (LFS) file's SHA-256 as its linked ETag.
    static func announcedDigest(_ headers: HTTPHeaders) -> String? {
        for name in ["X-Linked-Etag", "ETag"] {
            if let value = headers.first(name: name) {
                let tag = value.replacingOccurrences(of: "\"", with: "").replacingOccurrences(of: "W/", with: "").lowercased()
                if tag.count == 64, tag.allSatisfy(\.isHexDigit) { return tag }
            }
        }
        return nil
    }

    static func sha256(ofFile path: String) throws -> String {
        let handle = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        var hasher = SHA256()
        while let data = try handle.read(upToCount: 4 << 20), !data.isEmpty { hasher.update(data: data) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
