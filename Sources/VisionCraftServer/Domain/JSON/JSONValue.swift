import Foundation
import NIOCore

/// A parsed JSON document. Requests are read into this first so that every parameter can be
/// checked by hand and a wrong one answered with its own name, which `Decodable` cannot do.
/// `JSONReader` and `JSONWriter` convert it from and to text.
public enum JSONValue: Sendable {
    case null
    case bool(Bool)
    /// A number written without a fraction or exponent that fits 64 bits, kept exact: a seed of
    /// 2^53 + 1 must stay that seed, which a `Double` cannot hold.
    case integer(Int64)
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
        switch self {
        case .integer(let value): Double(value)
        case .number(let value): value
        default: nil
        }
    }

    /// Exact for integers; a `.number` only when it is whole and within a `Double`'s exact range.
    public var intValue: Int? {
        switch self {
        case .integer(let value): Int(value)
        case .number(let value) where value.rounded() == value && abs(value) < 9.0e15: Int(value)
        default: nil
        }
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
    public init(integerLiteral value: Int) { self = .integer(Int64(value)) }
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    public init(floatLiteral value: Double) { self = .number(value) }
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}

extension JSONValue: Equatable {
    /// Numbers compare by value, whichever case holds them: `1` and `1.0` are the same JSON number.
    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case (.null, .null): true
        case (.bool(let x), .bool(let y)): x == y
        case (.integer(let x), .integer(let y)): x == y
        case (.integer(let x), .number(let y)), (.number(let y), .integer(let x)): Double(x) == y && y < 9.3e18 && Int64(y) == x
        case (.number(let x), .number(let y)): x == y
        case (.string(let x), .string(let y)): x == y
        case (.array(let x), .array(let y)): x == y
        case (.object(let x), .object(let y)): x == y
        default: false
        }
    }
}
