import CompressNIO
import NIOCore

/// Writes 8-bit RGB pixels as a PNG: each row filtered with whichever of PNG's five filters leaves
/// the smallest sum of magnitudes (libpng's heuristic), the rows deflated by zlib, and text chunks
/// for the generation parameters (`tEXt` when the text is Latin-1, as the format requires, else
/// UTF-8 `iTXt`). The same pixels and text give the same bytes.
public enum PNGEncoder {
    public static let signature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    /// `pixels`: `width × height` RGB triples, row by row. `text`: keyword–value pairs.
    public static func encode(width: Int, height: Int, rgb pixels: [UInt8], text: [(String, String)] = []) -> [UInt8] {
        precondition(width > 0 && height > 0 && pixels.count == width * height * 3, "the pixels must fill the image")
        var out = signature
        var header: [UInt8] = []
        header.appendBigEndian(UInt32(width))
        header.appendBigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]  // 8 bits per sample, RGB, deflate, adaptive filters, no interlace
        appendChunk("IHDR", header, to: &out)
        for (keyword, value) in text { appendText(keyword: keyword, value: value, to: &out) }
        var filtered = ByteBuffer(bytes: filteredRows(width: width, height: height, pixels: pixels))
        let compressed = try! filtered.compress(with: .zlib())
        appendChunk("IDAT", Array(compressed.readableBytesView), to: &out)
        appendChunk("IEND", [], to: &out)
        return out
    }

    static func filteredRows(width: Int, height: Int, pixels: [UInt8]) -> [UInt8] {
        let stride = width * 3
        var out: [UInt8] = []
        out.reserveCapacity((stride + 1) * height)
        var candidate = [UInt8](repeating: 0, count: stride)
        var best = [UInt8](repeating: 0, count: stride)
        pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<height {
                let row = UnsafeBufferPointer(rebasing: pixels[y * stride..<(y + 1) * stride])
                let above = y > 0 ? UnsafeBufferPointer(rebasing: pixels[(y - 1) * stride..<y * stride]) : nil
                var bestType: UInt8 = 0, bestCost = Int.max
                for type: UInt8 in 0...4 {
                    var cost = 0
                    for i in 0..<stride {
                        let a = i >= 3 ? Int(row[i - 3]) : 0
                        let b = above.map { Int($0[i]) } ?? 0
                        let c = i >= 3 ? (above.map { Int($0[i - 3]) } ?? 0) : 0
                        let predictor: Int
                        switch type {
                        case 0: predictor = 0
                        case 1: predictor = a
                        case 2: predictor = b
                        case 3: predictor = (a + b) / 2
                        default: predictor = paeth(a, b, c)
                        }
                        let value = UInt8(truncatingIfNeeded: Int(row[i]) - predictor)
                        candidate[i] = value
                        cost += value < 128 ? Int(value) : 256 - Int(value)
                    }
                    if cost < bestCost {
                        bestCost = cost
                        bestType = type
                        swap(&best, &candidate)
                    }
                }
                out.append(bestType)
                out += best
            }
        }
        return out
    }

    static func paeth(_ a: Int, _ b: Int, _ c: Int) -> Int {
        let p = a + b - c
        let pa = abs(p - a), pb = abs(p - b), pc = abs(p - c)
        if pa <= pb && pa <= pc { return a }
        return pb <= pc ? b : c
    }

    private static func appendText(keyword: String, value: String, to out: inout [UInt8]) {
        let key = Array(keyword.unicodeScalars.filter { $0.value >= 32 && $0.value < 127 }.map { UInt8($0.value) }.prefix(79))
        if value.unicodeScalars.allSatisfy({ $0.value < 256 && $0.value != 0 }) {
            appendChunk("tEXt", key + [0] + value.unicodeScalars.map { UInt8($0.value) }, to: &out)
        } else {
            // keyword, NUL, uncompressed, method 0, no language tag, no translated keyword.
            appendChunk("iTXt", key + [0, 0, 0, 0, 0] + Array(value.utf8), to: &out)
        }
    }

    private static func appendChunk(_ type: String, _ data: [UInt8], to out: inout [UInt8]) {
        out.appendBigEndian(UInt32(data.count))
        let body = Array(type.utf8) + data
        out += body
        out.appendBigEndian(CRC32.checksum(body))
    }
}

/// The CRC-32 PNG chunks end with (ISO 3309, reflected, polynomial 0xEDB88320).
public enum CRC32 {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }

    public static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

extension [UInt8] {
    mutating func appendBigEndian(_ value: UInt32) {
        append(contentsOf: [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)])
    }
}
