/// Jinja's binary operators, with Python's semantics for the types templates combine.
enum TemplateOperators {
    static func apply(_ operation: String, _ left: TemplateValue, _ right: TemplateValue) throws(TemplateError) -> TemplateValue {
        switch operation {
        case "==": return .bool(left == right)
        case "!=": return .bool(left != right)
        case "<", ">", "<=", ">=": return .bool(try compare(operation, left, right))
        case "in": return .bool(try contains(right, left))
        case "~": return .string(left.rendered + right.rendered)
        case "+":
            switch (left, right) {
            case (.string(let a), .string(let b)): return .string(a + b)
            case (.array(let a), .array(let b)): return .array(a + b)
            default: return try arithmetic(operation, left, right)
            }
        case "*":
            if case .string(let text) = left, case .int(let count) = right {
                return .string(text.mapped { String(repeating: $0, count: max(0, count)) })
            }
            return try arithmetic(operation, left, right)
        default: return try arithmetic(operation, left, right)
        }
    }

    private static func number(_ value: TemplateValue) -> Double? {
        switch value {
        case .int(let value): Double(value)
        case .double(let value): value
        case .bool(let value): value ? 1 : 0
        default: nil
        }
    }

    private static func arithmetic(_ operation: String, _ left: TemplateValue, _ right: TemplateValue) throws(TemplateError) -> TemplateValue {
        if case .int(let a) = left, case .int(let b) = right, operation != "/" {
            switch operation {
            case "+": return .int(a + b)
            case "-": return .int(a - b)
            case "*": return .int(a * b)
            case "//", "%":
                guard b != 0 else { throw .evaluation("division by zero") }
                let quotient = Int((Double(a) / Double(b)).rounded(.down))
                return .int(operation == "//" ? quotient : a - quotient * b)
            default: break
            }
        }
        guard let a = number(left), let b = number(right) else {
            throw .evaluation("cannot apply '\(operation)' to \(left.pythonRepresentation()) and \(right.pythonRepresentation())")
        }
        switch operation {
        case "+": return .double(a + b)
        case "-": return .double(a - b)
        case "*": return .double(a * b)
        case "/":
            guard b != 0 else { throw .evaluation("division by zero") }
            return .double(a / b)
        case "//":
            guard b != 0 else { throw .evaluation("division by zero") }
            return .double((a / b).rounded(.down))
        case "%":
            guard b != 0 else { throw .evaluation("division by zero") }
            return .double(a - (a / b).rounded(.down) * b)
        default: throw .evaluation("unknown operator '\(operation)'")
        }
    }

    private static func compare(_ operation: String, _ left: TemplateValue, _ right: TemplateValue) throws(TemplateError) -> Bool {
        let ordered: Bool, equal: Bool
        if let a = number(left), let b = number(right) {
            (ordered, equal) = (a < b, a == b)
        } else if case .string(let a) = left, case .string(let b) = right {
            (ordered, equal) = (a.string < b.string, a.string == b.string)
        } else {
            throw .evaluation("cannot compare \(left.pythonRepresentation()) with \(right.pythonRepresentation())")
        }
        switch operation {
        case "<": return ordered
        case "<=": return ordered || equal
        case ">": return !ordered && !equal
        default: return !ordered
        }
    }

    static func contains(_ container: TemplateValue, _ item: TemplateValue) throws(TemplateError) -> Bool {
        switch container {
        case .string(let text):
            guard case .string(let needle) = item else { return false }
            return needle.string.isEmpty || text.string.contains(needle.string)
        case .array(let items): return items.contains(item)
        case .object, .namespace:
            guard case .string(let key) = item else { return false }
            return container[key.string] != .undefined
        case .undefined, .none: return false
        default: throw .evaluation("'in' needs a string, list or mapping")
        }
    }
}
