import Foundation

/// Text that remembers which parts came from the conversation rather than from the template, so
/// that special tokens are recognised only in the template's own text: a user who types
/// `<|im_start|>` gets those characters, not a forged turn.
public struct TemplateText: Equatable, Sendable {
    public struct Piece: Equatable, Sendable {
        public var text: String
        public var fromTemplate: Bool
    }

    public private(set) var pieces: [Piece] = []

    init() {}

    init(_ text: String, fromTemplate: Bool = true) {
        if !text.isEmpty { pieces = [Piece(text: text, fromTemplate: fromTemplate)] }
    }

    var string: String { pieces.map(\.text).joined() }
    var isFromTemplate: Bool { pieces.allSatisfy(\.fromTemplate) }

    static func + (left: TemplateText, right: TemplateText) -> TemplateText {
        var result = left
        result.append(right)
        return result
    }

    mutating func append(_ other: TemplateText) {
        for piece in other.pieces {
            if let last = pieces.last, last.fromTemplate == piece.fromTemplate {
                pieces[pieces.count - 1].text += piece.text
            } else {
                pieces.append(piece)
            }
        }
    }

    /// Applies a string operation, the result counting as conversation text if any input did.
    func mapped(_ transform: (String) -> String) -> TemplateText {
        TemplateText(transform(string), fromTemplate: isFromTemplate)
    }

    /// Strips whitespace at both ends without merging the pieces.
    func trimmed() -> TemplateText {
        var result = self
        while let first = result.pieces.first {
            let stripped = String(first.text.drop(while: \.isWhitespace))
            if stripped.isEmpty { result.pieces.removeFirst(); continue }
            result.pieces[0].text = stripped
            break
        }
        while let last = result.pieces.last {
            let stripped = String(String(last.text.reversed().drop(while: \.isWhitespace)).reversed())
            if stripped.isEmpty { result.pieces.removeLast(); continue }
            result.pieces[result.pieces.count - 1].text = stripped
            break
        }
        return result
    }
}

/// A value while a template renders: Jinja's types, as Python would show them.
indirect enum TemplateValue: Equatable {
    case undefined
    case none
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(TemplateText)
    case array([TemplateValue])
    /// Keys in insertion order, as Python dicts keep them.
    case object([(String, TemplateValue)])
    case namespace(TemplateNamespace)
    case function(String)

    static func text(_ string: String) -> TemplateValue { .string(TemplateText(string)) }

    static func == (left: TemplateValue, right: TemplateValue) -> Bool {
        switch (left, right) {
        case (.undefined, .undefined), (.none, .none): true
        case (.bool(let a), .bool(let b)): a == b
        case (.int(let a), .int(let b)): a == b
        case (.double(let a), .double(let b)): a == b
        case (.int(let a), .double(let b)), (.double(let b), .int(let a)): Double(a) == b
        case (.string(let a), .string(let b)): a.string == b.string
        case (.array(let a), .array(let b)): a == b
        case (.object(let a), .object(let b)): a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
        case (.namespace(let a), .namespace(let b)): a === b
        default: false
        }
    }

    var isTruthy: Bool {
        switch self {
        case .undefined, .none: false
        case .bool(let value): value
        case .int(let value): value != 0
        case .double(let value): value != 0
        case .string(let text): !text.string.isEmpty
        case .array(let items): !items.isEmpty
        case .object(let entries): !entries.isEmpty
        case .namespace, .function: true
        }
    }

    subscript(key: String) -> TemplateValue {
        switch self {
        case .object(let entries): entries.first { $0.0 == key }?.1 ?? .undefined
        case .namespace(let namespace): namespace.values[key] ?? .undefined
        default: .undefined
        }
    }

    /// How `{{ value }}` shows it: Python's `str()`.
    var rendered: TemplateText {
        switch self {
        case .undefined: TemplateText()
        case .string(let text): text
        default: TemplateText(pythonRepresentation(topLevel: true))
        }
    }

    func pythonRepresentation(topLevel: Bool = false) -> String {
        switch self {
        case .undefined: ""
        case .none: "None"
        case .bool(let value): value ? "True" : "False"
        case .int(let value): String(value)
        case .double(let value): value == value.rounded() && abs(value) < 1e16 ? String(format: "%.1f", value) : String(value)
        case .string(let text): topLevel ? text.string : "'" + text.string.replacingOccurrences(of: "'", with: "\\'") + "'"
        case .array(let items): "[" + items.map { $0.pythonRepresentation() }.joined(separator: ", ") + "]"
        case .object(let entries): "{" + entries.map { "'\($0.0)': \($0.1.pythonRepresentation())" }.joined(separator: ", ") + "}"
        case .namespace: "<Namespace>"
        case .function(let name): "<function \(name)>"
        }
    }

    /// JSON as Python's `json.dumps` writes it by default (`tojson`): ", " and ": " separators.
    func json(indent: Int?, level: Int = 0) -> String {
        func quote(_ string: String) -> String {
            var result = "\""
            for scalar in string.unicodeScalars {
                switch scalar {
                case "\"": result += "\\\""
                case "\\": result += "\\\\"
                case "\n": result += "\\n"
                case "\r": result += "\\r"
                case "\t": result += "\\t"
                case _ where scalar.value < 0x20 || scalar.value > 0x7E:
                    if scalar.value > 0xFFFF {
                        let value = scalar.value - 0x10000
                        result += String(format: "\\u%04x\\u%04x", 0xD800 + (value >> 10), 0xDC00 + (value & 0x3FF))
                    } else {
                        result += String(format: "\\u%04x", scalar.value)
                    }
                default: result.unicodeScalars.append(scalar)
                }
            }
            return result + "\""
        }
        let (open, separator, close): (String, String, String) = indent.map { width in
            let inner = "\n" + String(repeating: " ", count: width * (level + 1))
            return (inner, "," + inner, "\n" + String(repeating: " ", count: width * level))
        } ?? ("", ", ", "")
        switch self {
        case .undefined, .none: return "null"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .double(let value): return String(value)
        case .string(let text): return quote(text.string)
        case .array(let items):
            if items.isEmpty { return "[]" }
            return "[" + open + items.map { $0.json(indent: indent, level: level + 1) }.joined(separator: separator) + close + "]"
        case .object(let entries):
            if entries.isEmpty { return "{}" }
            return "{" + open + entries.map { quote($0.0) + ": " + $0.1.json(indent: indent, level: level + 1) }
                .joined(separator: separator) + close + "}"
        case .namespace, .function: return "null"
        }
    }
}

/// Jinja's `namespace()`: the one mutable object, so a loop can set what the template reads after.
final class TemplateNamespace {
    var values: [String: TemplateValue]

    init(_ values: [String: TemplateValue]) {
        self.values = values
    }
}
