import CompressNIO
import NIOCore
import Testing
@testable import MediaCodecs

/// The PNG read back by a small decoder that follows the specification: chunk order and CRCs,
/// the inflated rows unfiltered, every pixel as written.
struct PNGEncoderTests {
    struct Chunk {
        var type: String
        var data: [UInt8]
    }

    static func chunks(_ png: [UInt8]) throws -> [Chunk] {
        #expect(Array(png.prefix(8)) == PNGEncoder.signature)
        var chunks: [Chunk] = []
        var offset = 8
        func u32(_ at: Int) -> Int { Int(png[at]) << 24 | Int(png[at + 1]) << 16 | Int(png[at + 2]) << 8 | Int(png[at + 3]) }
        while offset < png.count {
            let length = u32(offset)
            let body = Array(png[offset + 4..<offset + 8 + length])
            #expect(UInt32(u32(offset + 8 + length)) == CRC32.checksum(body), "CRC of chunk at \(offset)")
            chunks.append(Chunk(type: String(decoding: body.prefix(4), as: UTF8.self), data: Array(body.dropFirst(4))))
            offset += 12 + length
        }
        return chunks
    }

    static func decode(_ png: [UInt8]) throws -> (width: Int, height: Int, rgb: [UInt8]) {
        let chunks = try chunks(png)
        let header = chunks[0].data
        #expect(chunks.first?.type == "IHDR" && chunks.last?.type == "IEND")
        let width = Int(header[0]) << 24 | Int(header[1]) << 16 | Int(header[2]) << 8 | Int(header[3])
        let height = Int(header[4]) << 24 | Int(header[5]) << 16 | Int(header[6]) << 8 | Int(header[7])
        #expect(Array(header[8...]) == [8, 2, 0, 0, 0])
        var compressed = ByteBuffer(bytes: chunks.filter { $0.type == "IDAT" }.flatMap(\.data))
        let raw = Array(try compressed.decompress(with: .zlib()).readableBytesView)
        let stride = width * 3
        #expect(raw.count == (stride + 1) * height)
        var rgb = [UInt8](repeating: 0, count: stride * height)
        for y in 0..<height {
            let type = raw[y * (stride + 1)]
            for i in 0..<stride {
                let x = Int(raw[y * (stride + 1) + 1 + i])
                let a = i >= 3 ? Int(rgb[y * stride + i - 3]) : 0
                let b = y > 0 ? Int(rgb[(y - 1) * stride + i]) : 0
                let c = i >= 3 && y > 0 ? Int(rgb[(y - 1) * stride + i - 3]) : 0
                let predictor = [0, a, b, (a + b) / 2, PNGEncoder.paeth(a, b, c)][Int(type)]
                rgb[y * stride + i] = UInt8(truncatingIfNeeded: x + predictor)
            }
        }
        return (width, height, rgb)
    }

    @Test func pixelsAndTextComeBackAsWritten() throws {
        let (width, height) = (37, 23)
        // Smooth gradients (which the predicting filters suit) beside noise (which suits none).
        var state: UInt32 = 12345
        let rgb = (0..<width * height * 3).map { i -> UInt8 in
            let pixel = i / 3, x = pixel % width, y = pixel / width
            if x < width / 2 { return UInt8((x * 7 + y * 3 + (i % 3) * 50) & 0xFF) }
            state = state &* 1_103_515_245 &+ 12345
            return UInt8(state >> 24)
        }
        let png = PNGEncoder.encode(width: width, height: height, rgb: rgb, text: [
            ("parameters", "a café at night\nSteps: 20, Sampler: Euler"), ("comment", "東京"),
        ])
        let decoded = try Self.decode(png)
        #expect(decoded.width == width && decoded.height == height)
        #expect(decoded.rgb == rgb)
        let chunks = try Self.chunks(png)
        let text = chunks.first { $0.type == "tEXt" }!.data
        #expect(text == Array("parameters".utf8) + [0] + "a café at night\nSteps: 20, Sampler: Euler".unicodeScalars.map { UInt8($0.value) })
        let international = chunks.first { $0.type == "iTXt" }!.data
        #expect(international == Array("comment".utf8) + [0, 0, 0, 0, 0] + Array("東京".utf8))
        #expect(PNGEncoder.encode(width: width, height: height, rgb: rgb) == PNGEncoder.encode(width: width, height: height, rgb: rgb))
    }

    @Test func checksumIsTheStandardOne() {
        // The CRC-32 check value of the specification's test string.
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
    }
}
