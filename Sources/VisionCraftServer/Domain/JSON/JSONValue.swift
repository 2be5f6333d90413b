import Foundation
import NIOCore

/// A parsed JSON document. Requests are read into this first so that every parameter can be
/// checked by hand and a wrong one answered with its own name, which `Decodable` cannot do.
/// `JSONReader` and `JSONWriter` convert it from and to text.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    public subscript(key: String) -> JSONValue? {
        if case .object(let object) = self { return object[key] }
        return nil
    }

    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    public var doubleValue: Double? {
        if case .number(let value) = self { return value }
        return nil
    }

    public var intValue: Int? {
        guard case .number(let value) = self, value.rounded() == value, abs(value) < 9.0e15 else { return nil }
        return Int(value)
    }

    public var objectValue: [String: JSONValue]? {
        if case .object(let value) = self { return value }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let value) = self { return value }
        return nil
    }

    public static func parse(_ bytes: ByteBufferView) throws -> JSONValue {
        if let value = try bytes.withContiguousStorageIfAvailable({ try JSONReader.parse(UnsafeRawBufferPointer($0)) }) {
            return value
        }
        return try Array(bytes).withUnsafeBytes { try JSONReader.parse($0) }
    }

    public static func parse(_ text: String) throws -> JSONValue {
        try parse(ByteBuffer(string: text).readableBytesView)
    }

    public static func parse(_ data: Data) throws -> JSONValue {
        try parse(ByteBuffer(data: data).readableBytesView)
    }

    /// Compact JSON with sorted keys.
    public var buffer: ByteBuffer {
        var buffer = ByteBuffer()
        JSONWriter.write(self, into: &buffer)
        return buffer
    }
}

extension JSONValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    public init(stringLiteral value: String) { self = .string(value) }
    public init(integerLiteral value: Int) { self = .number(Double(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
