import NIOCore

/// Writes a `JSONValue` as compact JSON with sorted keys, straight into a `ByteBuffer`.
///
/// The counterpart of `JSONReader`, hand-written for the same measured reason: every answer and
/// every upstream request is encoded once, and `JSONEncoder` through `Encodable` was the larger
/// half of the JSON cost. Sorted keys make output byte-stable.
enum JSONWriter {
    static func write(_ value: JSONValue, into buffer: inout ByteBuffer) {
        switch value {
        case .null: buffer.writeStaticString("null")
        case .bool(let bool): buffer.writeStaticString(bool ? "true" : "false")
        case .integer(let integer): buffer.writeString(String(integer))
        case .number(let number): writeNumber(number, into: &buffer)
        case .string(let string): writeString(string, into: &buffer)
        case .array(let array):
            buffer.writeInteger(UInt8(ascii: "["))
            for (offset, element) in array.enumerated() {
                if offset > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                write(element, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .object(let object):
            buffer.writeInteger(UInt8(ascii: "{"))
            for (offset, key) in object.keys.sorted().enumerated() {
                if offset > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                writeString(key, into: &buffer)
                buffer.writeInteger(UInt8(ascii: ":"))
                write(object[key]!, into: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "}"))
        }
    }

    static func writeNumber(_ number: Double, into buffer: inout ByteBuffer) {
        guard number.isFinite else {
            buffer.writeStaticString("null")  // JSON has no infinities; nothing we produce has them
            return
        }
        if number.rounded() == number, abs(number) < 9.0e15 {
            buffer.writeString(String(Int64(number)))
        } else {
            buffer.writeString(number.description)
        }
    }

    static func writeString(_ string: String, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        let utf8 = string.utf8
        // Copy runs that need no escaping in one go.
        var runStart = utf8.startIndex
        var position = utf8.startIndex
        while position != utf8.endIndex {
            let byte = utf8[position]
            if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") || byte < 0x20 {
                buffer.writeBytes(utf8[runStart..<position])
                writeEscape(byte, into: &buffer)
                utf8.formIndex(after: &position)
                runStart = position
            } else {
                utf8.formIndex(after: &position)
            }
        }
        buffer.writeBytes(utf8[runStart..<position])
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    private static func writeEscape(_ byte: UInt8, into buffer: inout ByteBuffer) {
        switch byte {
        case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
        case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
        case 0x0A: buffer.writeStaticString("\\n")
        case 0x0D: buffer.writeStaticString("\\r")
        case 0x09: buffer.writeStaticString("\\t")
        default:
            let hex: [UInt8] = Array("0123456789abcdef".utf8)
            buffer.writeBytes([UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"),
                               hex[Int(byte >> 4)], hex[Int(byte & 0xF)]])
        }
    }
}
