/// The filters (`value | name`) and tests (`value is name`) chat templates use.
enum TemplateFilters {
    static func apply(
        _ name: String, to value: TemplateValue, _ arguments: [TemplateValue], _ keywords: [(String, TemplateValue)]
    ) throws(TemplateError) -> TemplateValue {
        func keyword(_ key: String, position: Int) -> TemplateValue? {
            keywords.first { $0.0 == key }?.1 ?? (position < arguments.count ? arguments[position] : nil)
        }
        switch name {
        case "trim":
            guard case .string(let text) = value else { return value }
            return .string(text.trimmed())
        case "length", "count":
            switch value {
            case .string(let text): return .int(text.string.count)
            case .array(let items): return .int(items.count)
            case .object(let entries): return .int(entries.count)
            default: return .int(0)
            }
        case "upper", "lower", "capitalize", "title":
            guard case .string(let text) = value else { return value }
            return .string(text.mapped { string in
                switch name {
                case "upper": string.uppercased()
                case "lower": string.lowercased()
                case "title": string.capitalized
                default: string.prefix(1).uppercased() + string.dropFirst().lowercased()
                }
            })
        case "first", "last":
            guard case .array(let items) = value else { return .undefined }
            return (name == "first" ? items.first : items.last) ?? .undefined
        case "reverse":
            switch value {
            case .array(let items): return .array(items.reversed())
            case .string(let text): return .string(text.mapped { String($0.reversed()) })
            default: return value
            }
        case "list":
            switch value {
            case .array: return value
            case .string(let text): return .array(text.string.map { .string(TemplateText(String($0), fromTemplate: text.isFromTemplate)) })
            case .object(let entries): return .array(entries.map { .text($0.0) })
            default: return .array([])
            }
        case "items":
            guard case .object(let entries) = value else { return .array([]) }
            return .array(entries.map { .array([.text($0.0), $0.1]) })
        case "string": return .string(value.rendered)
        case "safe", "e", "escape": return value
        case "int":
            switch value {
            case .int: return value
            case .double(let number): return .int(Int(number))
            case .string(let text): return .int(Int(text.string.trimmingWhitespace()) ?? 0)
            case .bool(let flag): return .int(flag ? 1 : 0)
            default: return .int(0)
            }
        case "float":
            switch value {
            case .int(let number): return .double(Double(number))
            case .double: return value
            case .string(let text): return .double(Double(text.string.trimmingWhitespace()) ?? 0)
            default: return .double(0)
            }
        case "abs":
            switch value {
            case .int(let number): return .int(abs(number))
            case .double(let number): return .double(abs(number))
            default: return value
            }
        case "default", "d":
            let fallback = keyword("default_value", position: 0) ?? .text("")
            let boolean = keyword("boolean", position: 1)?.isTruthy ?? false
            return value == .undefined || (boolean && !value.isTruthy) ? fallback : value
        case "join":
            guard case .array(let items) = value else { return value }
            let separator: TemplateText = { if case .string(let text)? = keyword("d", position: 0) { text } else { TemplateText() } }()
            var result = TemplateText()
            for (index, item) in items.enumerated() {
                if index > 0 { result.append(separator) }
                result.append(item.rendered)
            }
            return .string(result)
        case "replace":
            guard case .string(let text) = value, arguments.count >= 2,
                  case .string(let old) = arguments[0], case .string(let new) = arguments[1] else { return value }
            return .string(text.mapped { $0.replacingOccurrences(of: old.string, with: new.string) })
        case "tojson":
            var indent: Int? = nil
            if case .int(let width)? = keyword("indent", position: 0) { indent = width }
            let isFromTemplate = !containsConversationText(value)
            return .string(TemplateText(value.json(indent: indent), fromTemplate: isFromTemplate))
        case "selectattr", "rejectattr":
            guard case .array(let items) = value, case .string(let attribute)? = arguments.first else { return value }
            var kept: [TemplateValue] = []
            for item in items {
                let field = item[attribute.string]
                let passes: Bool
                if arguments.count >= 2, case .string(let test) = arguments[1] {
                    passes = try self.test(test.string, field, Array(arguments.dropFirst(2)))
                } else {
                    passes = field.isTruthy
                }
                if passes == (name == "selectattr") { kept.append(item) }
            }
            return .array(kept)
        case "map":
            guard case .array(let items) = value else { return value }
            if case .string(let attribute)? = keywords.first(where: { $0.0 == "attribute" })?.1 {
                return .array(items.map { $0[attribute.string] })
            }
            if case .string(let filter)? = arguments.first {
                var mapped: [TemplateValue] = []
                for item in items { mapped.append(try apply(filter.string, to: item, Array(arguments.dropFirst()), [])) }
                return .array(mapped)
            }
            return value
        case "unique":
            guard case .array(let items) = value else { return value }
            var seen: [TemplateValue] = []
            for item in items where !seen.contains(item) { seen.append(item) }
            return .array(seen)
        case "indent":
            guard case .string(let text) = value else { return value }
            let width: Int = { if case .int(let width)? = keyword("width", position: 0) { width } else { 4 } }()
            let first = keyword("first", position: 1)?.isTruthy ?? false
            let padding = String(repeating: " ", count: width)
            return .string(text.mapped { string in
                let lines = string.components(separatedBy: "\n")
                return lines.enumerated().map { index, line in
                    (index == 0 && !first) || line.isEmpty ? line : padding + line
                }.joined(separator: "\n")
            })
        default:
            throw .evaluation("unknown filter '\(name)'")
        }
    }

    private static func containsConversationText(_ value: TemplateValue) -> Bool {
        switch value {
        case .string(let text): !text.isFromTemplate
        case .array(let items): items.contains(where: containsConversationText)
        case .object(let entries): entries.contains { containsConversationText($0.1) }
        default: false
        }
    }

    static func test(_ name: String, _ value: TemplateValue, _ arguments: [TemplateValue]) throws(TemplateError) -> Bool {
        switch name {
        case "defined": return value != .undefined
        case "undefined": return value == .undefined
        case "none": return value == .none
        case "string": if case .string = value { return true } else { return false }
        case "number": switch value { case .int, .double: return true; default: return false }
        case "integer": if case .int = value { return true } else { return false }
        case "float": if case .double = value { return true } else { return false }
        case "boolean": if case .bool = value { return true } else { return false }
        case "true": return value == .bool(true)
        case "false": return value == .bool(false)
        case "mapping": switch value { case .object, .namespace: return true; default: return false }
        case "sequence", "iterable": switch value { case .array, .string, .object: return true; default: return false }
        case "callable": if case .function = value { return true } else { return false }
        case "even", "odd":
            guard case .int(let number) = value else { return false }
            return (number % 2 == 0) == (name == "even")
        case "eq", "equalto", "==": return arguments.first.map { $0 == value } ?? false
        case "ne", "!=": return arguments.first.map { $0 != value } ?? false
        case "in":
            guard let container = arguments.first else { return false }
            return try TemplateOperators.contains(container, value)
        default: throw .evaluation("unknown test '\(name)'")
        }
    }
}
