import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// A stand-in for an AUTOMATIC1111/Forge server with the AnimateDiff extension, speaking its
/// `/sdapi/v1` JSON over a real socket. It answers with real PNG and GIF files it makes itself.
final class A1111UpstreamDouble: Sendable {
    static let samplers = ["Euler a", "Euler", "DPM++ 2M"]
    static let loras = ["add_detail", "pixel_art", "film_grain", "watercolor", "ink", "neon"]
    private let state = NIOLockedValueBox(State())

    struct State: @unchecked Sendable {
        var txt2imgBodies: [[String: Any]] = []
        var failing = false
    }

    var txt2imgBodies: [[String: Any]] { state.withLockedValue { $0.txt2imgBodies } }
    func setFailing(_ failing: Bool) { state.withLockedValue { $0.failing = failing } }

    func run<Value: Sendable>(_ body: @Sendable (String) async throws -> Value) async throws -> Value {
        try await serveRoutes({ self.router() }, body)
    }

    /// The picture the double draws for a request: its size and seed decide the pixels.
    static func png(width: Int, height: Int, seed: Int) -> [UInt8] {
        let shade = UInt8(truncatingIfNeeded: seed)
        return TestImages.png(width: min(width, 16), height: min(height, 16), rgb: (shade, 128, 255 &- shade))
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/sdapi/v1/samplers") { _, _ in
            try Self.json(Self.samplers.map { ["name": $0, "aliases": [], "options": [:]] as [String: Any] })
        }
        router.get("/sdapi/v1/loras") { _, _ in
            try Self.json(Self.loras.map { ["name": $0, "alias": $0, "path": "/models/Lora/\($0).safetensors"] })
        }
        router.post("/sdapi/v1/txt2img") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            let json = (try JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            let failing = self.state.withLockedValue { state in
                state.txt2imgBodies.append(json)
                return state.failing
            }
            if failing {
                return Response(status: .internalServerError, headers: [.contentType: "application/json"],
                                body: .init(byteBuffer: ByteBuffer(string: #"{"detail":"CUDA out of memory"}"#)))
            }
            let seed = json["seed"] as? Int ?? -1
            let frames = [Self.png(width: json["width"] as? Int ?? 64, height: json["height"] as? Int ?? 64, seed: seed)]
            let isAnimation = (json["alwayson_scripts"] as? [String: Any])?["AnimateDiff"] != nil
            let images = isAnimation ? frames + [TestImages.gif] : frames
            let info = String(decoding: try JSONSerialization.data(withJSONObject: ["seed": seed]), as: UTF8.self)
            return try Self.json(["images": images.map { Data($0).base64EncodedString() }, "parameters": [:], "info": info])
        }
        return router
    }

    static func json(_ object: Any) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(data: try JSONSerialization.data(withJSONObject: object))))
    }
}

/// Real, tiny image files, written out by the rules of their formats.
enum TestImages {
    /// A solid-colour RGB PNG: zlib with stored (uncompressed) deflate blocks.
    static func png(width: Int, height: Int, rgb: (UInt8, UInt8, UInt8)) -> [UInt8] {
        var raw: [UInt8] = []
        for _ in 0..<height {
            raw.append(0)  // filter: none
            for _ in 0..<width { raw += [rgb.0, rgb.1, rgb.2] }
        }
        var zlib: [UInt8] = [0x78, 0x01, 0x01]
        zlib += bigEndianless16(raw.count) + bigEndianless16(~raw.count & 0xFFFF) + raw
        zlib += bigEndian32(adler32(raw))
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        png += chunk("IHDR", bigEndian32(UInt32(width)) + bigEndian32(UInt32(height)) + [8, 2, 0, 0, 0])
        png += chunk("IDAT", zlib)
        png += chunk("IEND", [])
        return png
    }

    /// A 1×1 two-colour GIF89a.
    static let gif: [UInt8] = Array("GIF89a".utf8) + [1, 0, 1, 0, 0x80, 0, 0] + [0, 0, 0, 255, 255, 255]
        + [0x2C, 0, 0, 0, 0, 1, 0, 1, 0, 0] + [2, 2, 0x44, 0x01, 0] + [0x3B]

    private static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
        let typed = Array(type.utf8) + data
        return bigEndian32(UInt32(data.count)) + typed + bigEndian32(crc32(typed))
    }

    private static func bigEndian32(_ value: UInt32) -> [UInt8] {
        [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }

    private static func bigEndianless16(_ value: Int) -> [UInt8] {
        [UInt8(value & 0xFF), UInt8(value >> 8 & 0xFF)]
    }

    private static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    private static func crc32(_ data: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in data {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 == 1 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }
}
