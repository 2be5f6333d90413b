import Foundation

/// Runs a parsed template against variables, producing text that remembers which parts came from
/// the conversation. Covers what chat templates in the wild use; anything else is a clear error.
struct TemplateRenderer {
    private var scopes: [[String: TemplateValue]]
    private var macros: [String: (parameters: [(String, TemplateExpression?)], body: [TemplateNode])] = [:]
    private let now: Date

    init(variables: [String: TemplateValue], now: Date = Date()) {
        scopes = [variables]
        self.now = now
    }

    private enum Flow { case normal, breakLoop, continueLoop }

    mutating func render(_ program: TemplateProgram) throws(TemplateError) -> TemplateText {
        var output = TemplateText()
        _ = try render(program.nodes, into: &output)
        return output
    }

    private mutating func render(_ nodes: [TemplateNode], into output: inout TemplateText) throws(TemplateError) -> Flow {
        for node in nodes {
            switch node {
            case .text(let text): output.append(TemplateText(text))
            case .output(let expression): output.append(try evaluate(expression).rendered)
            case .conditional(let branches, let otherwise):
                var chosen = otherwise
                for (condition, body) in branches where try evaluate(condition).isTruthy {
                    chosen = body
                    break
                }
                let flow = try render(chosen, into: &output)
                if flow != .normal { return flow }
            case .forLoop(let targets, let iterable, let condition, let body, let otherwise):
                try renderLoop(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise,
                               into: &output)
            case .assign(let target, let attribute, let value):
                let value = try evaluate(value)
                if let attribute {
                    guard case .namespace(let namespace) = lookup(target) else {
                        throw .evaluation("'\(target)' is not a namespace")
                    }
                    namespace.values[attribute] = value
                } else {
                    scopes[scopes.count - 1][target] = value
                }
            case .assignBlock(let target, let body):
                var captured = TemplateText()
                _ = try render(body, into: &captured)
                scopes[scopes.count - 1][target] = .string(captured)
            case .macro(let name, let parameters, let body):
                macros[name] = (parameters, body)
                scopes[scopes.count - 1][name] = .function(name)
            case .loopControl(let breaks):
                return breaks ? .breakLoop : .continueLoop
            }
        }
        return .normal
    }

    private mutating func renderLoop(
        targets: [String], iterable: TemplateExpression, condition: TemplateExpression?, body: [TemplateNode],
        otherwise: [TemplateNode], into output: inout TemplateText
    ) throws(TemplateError) {
        var items: [TemplateValue]
        switch try evaluate(iterable) {
        case .array(let values): items = values
        case .object(let entries): items = entries.map { .text($0.0) }
        case .string(let text): items = text.string.map { .string(TemplateText(String($0), fromTemplate: text.isFromTemplate)) }
        case .undefined, .none: items = []
        case let other: throw .evaluation("cannot loop over \(other.pythonRepresentation())")
        }
        if let condition {
            var kept: [TemplateValue] = []
            for item in items {
                scopes.append(try bindings(targets, item))
                defer { scopes.removeLast() }
                if try evaluate(condition).isTruthy { kept.append(item) }
            }
            items = kept
        }
        if items.isEmpty {
            _ = try render(otherwise, into: &output)
            return
        }
        for (index, item) in items.enumerated() {
            var scope = try bindings(targets, item)
            scope["loop"] = .object([
                ("index", .int(index + 1)), ("index0", .int(index)), ("first", .bool(index == 0)),
                ("last", .bool(index == items.count - 1)), ("length", .int(items.count)),
                ("revindex", .int(items.count - index)), ("revindex0", .int(items.count - index - 1)),
                ("previtem", index > 0 ? items[index - 1] : .undefined),
                ("nextitem", index + 1 < items.count ? items[index + 1] : .undefined),
            ])
            scopes.append(scope)
            let flow = try render(body, into: &output)
            scopes.removeLast()
            if flow == .breakLoop { break }
        }
    }

    private func bindings(_ targets: [String], _ item: TemplateValue) throws(TemplateError) -> [String: TemplateValue] {
        guard targets.count > 1 else { return [targets[0]: item] }
        guard case .array(let parts) = item, parts.count == targets.count else {
            throw .evaluation("cannot unpack \(item.pythonRepresentation()) into \(targets.count) names")
        }
        return Dictionary(uniqueKeysWithValues: zip(targets, parts).map { ($0, $1) })
    }

    private func lookup(_ name: String) -> TemplateValue {
        for scope in scopes.reversed() {
            if let value = scope[name] { return value }
        }
        switch name {
        case "raise_exception", "range", "namespace", "strftime_now", "dict": return .function(name)
        default: return .undefined
        }
    }

    // MARK: Expressions

    private mutating func evaluate(_ expression: TemplateExpression) throws(TemplateError) -> TemplateValue {
        switch expression {
        case .literal(let value): return value
        case .name(let name): return lookup(name)
        case .attribute(let base, let name): return try evaluate(base)[name]
        case .index(let base, let key):
            let container = try evaluate(base), key = try evaluate(key)
            switch (container, key) {
            case (.array(let items), .int(let index)):
                let resolved = index < 0 ? items.count + index : index
                return items.indices.contains(resolved) ? items[resolved] : .undefined
            case (.string(let text), .int(let index)):
                let characters = Array(text.string)
                let resolved = index < 0 ? characters.count + index : index
                return characters.indices.contains(resolved) ? .string(TemplateText(String(characters[resolved]), fromTemplate: text.isFromTemplate)) : .undefined
            case (_, .string(let name)): return container[name.string]
            default: return .undefined
            }
        case .slice(let base, let start, let end, let step):
            return try slice(try evaluate(base), start: try evaluateOptional(start), end: try evaluateOptional(end),
                             step: try evaluateOptional(step))
        case .call(let callee, let arguments, let keywords):
            let values = try evaluateAll(arguments)
            var named: [(String, TemplateValue)] = []
            for (name, expression) in keywords { named.append((name, try evaluate(expression))) }
            if case .attribute(let base, let method) = callee {
                return try callMethod(method, on: try evaluate(base), values)
            }
            guard case .function(let name) = try evaluate(callee) else { throw .evaluation("that is not a function") }
            return try callFunction(name, values, named)
        case .filter(let base, let name, let arguments, let keywords):
            let values = try evaluateAll(arguments)
            var named: [(String, TemplateValue)] = []
            for (name, expression) in keywords { named.append((name, try evaluate(expression))) }
            return try TemplateFilters.apply(name, to: try evaluate(base), values, named)
        case .test(let base, let name, let negated, let arguments):
            let result = try TemplateFilters.test(name, try evaluate(base), try evaluateAll(arguments))
            return .bool(result != negated)
        case .not(let base): return .bool(!(try evaluate(base).isTruthy))
        case .negate(let base):
            switch try evaluate(base) {
            case .int(let value): return .int(-value)
            case .double(let value): return .double(-value)
            default: throw .evaluation("cannot negate a non-number")
            }
        case .binary(let operation, let left, let right):
            if operation == "and" {
                let value = try evaluate(left)
                return value.isTruthy ? try evaluate(right) : value
            }
            if operation == "or" {
                let value = try evaluate(left)
                return value.isTruthy ? value : try evaluate(right)
            }
            return try TemplateOperators.apply(operation, try evaluate(left), try evaluate(right))
        case .conditional(let condition, let then, let otherwise):
            if try evaluate(condition).isTruthy { return try evaluate(then) }
            return try evaluateOptional(otherwise) ?? .undefined
        case .list(let items): return .array(try evaluateAll(items))
        case .dictionary(let entries):
            var result: [(String, TemplateValue)] = []
            for (key, value) in entries {
                guard case .string(let name) = try evaluate(key) else { throw .evaluation("dictionary keys must be strings") }
                result.append((name.string, try evaluate(value)))
            }
            return .object(result)
        }
    }

    private mutating func evaluateAll(_ expressions: [TemplateExpression]) throws(TemplateError) -> [TemplateValue] {
        var values: [TemplateValue] = []
        for expression in expressions { values.append(try evaluate(expression)) }
        return values
    }

    private mutating func evaluateOptional(_ expression: TemplateExpression?) throws(TemplateError) -> TemplateValue? {
        guard let expression else { return nil }
        return try evaluate(expression)
    }

    private func slice(_ value: TemplateValue, start: TemplateValue?, end: TemplateValue?, step: TemplateValue?) throws(TemplateError) -> TemplateValue {
        func bound(_ value: TemplateValue?, count: Int, default fallback: Int) -> Int {
            guard case .int(let index) = value else { return fallback }
            return min(max(index < 0 ? count + index : index, 0), count)
        }
        var stride = 1
        if case .int(let value) = step { stride = value }
        guard stride != 0 else { throw .evaluation("slice step cannot be zero") }
        func pick<T>(_ items: [T]) -> [T] {
            if stride > 0 {
                let from = bound(start, count: items.count, default: 0), to = bound(end, count: items.count, default: items.count)
                return from < to ? Swift.stride(from: from, to: to, by: stride).map { items[$0] } : []
            }
            let from = start.map { bound($0, count: items.count, default: items.count - 1) } ?? items.count - 1
            let to = end.map { bound($0, count: items.count, default: -1) } ?? -1
            return Swift.stride(from: min(from, items.count - 1), to: to, by: stride).map { items[$0] }
        }
        switch value {
        case .array(let items): return .array(pick(items))
        case .string(let text): return .string(TemplateText(String(pick(Array(text.string))), fromTemplate: text.isFromTemplate))
        default: return .undefined
        }
    }

    private mutating func callFunction(_ name: String, _ arguments: [TemplateValue], _ keywords: [(String, TemplateValue)]) throws(TemplateError) -> TemplateValue {
        if let macro = macros[name] {
            var scope: [String: TemplateValue] = [:]
            for (index, parameter) in macro.parameters.enumerated() {
                if index < arguments.count {
                    scope[parameter.0] = arguments[index]
                } else if let keyword = keywords.first(where: { $0.0 == parameter.0 }) {
                    scope[parameter.0] = keyword.1
                } else {
                    scope[parameter.0] = try evaluateOptional(parameter.1) ?? .undefined
                }
            }
            scopes.append(scope)
            defer { scopes.removeLast() }
            var output = TemplateText()
            _ = try render(macro.body, into: &output)
            return .string(output)
        }
        switch name {
        case "raise_exception":
            throw .raised(arguments.first?.rendered.string ?? "the chat template refused the conversation")
        case "range":
            let numbers = arguments.compactMap { if case .int(let value) = $0 { value } else { nil } }
            guard numbers.count == arguments.count, (1...3).contains(numbers.count) else { throw .evaluation("range() takes 1 to 3 integers") }
            let (from, to, step) = numbers.count == 1 ? (0, numbers[0], 1) : (numbers[0], numbers[1], numbers.count == 3 ? numbers[2] : 1)
            guard step != 0 else { throw .evaluation("range() step cannot be zero") }
            return .array(Swift.stride(from: from, to: to, by: step).map { .int($0) })
        case "namespace", "dict":
            var values = Dictionary(keywords, uniquingKeysWith: { $1 })
            if case .object(let entries)? = arguments.first { for (key, value) in entries { values[key] = value } }
            return name == "namespace" ? .namespace(TemplateNamespace(values)) : .object(keywords)
        case "strftime_now":
            guard case .string(let format)? = arguments.first else { throw .evaluation("strftime_now() needs a format") }
            return .text(Self.strftime(format.string, now))
        default:
            throw .evaluation("unknown function '\(name)'")
        }
    }

    private func callMethod(_ method: String, on value: TemplateValue, _ arguments: [TemplateValue]) throws(TemplateError) -> TemplateValue {
        let strings = arguments.map { argument -> String in if case .string(let text) = argument { text.string } else { argument.rendered.string } }
        switch value {
        case .string(let text):
            let string = text.string
            switch method {
            case "strip", "lstrip", "rstrip":
                let characters = strings.first.map(Set.init) ?? nil
                let strip: (Character) -> Bool = { characters?.contains($0) ?? $0.isWhitespace }
                return .string(text.mapped { string in
                    var result = Substring(string)
                    if method != "rstrip" { result = result.drop(while: strip) }
                    if method != "lstrip" { while let last = result.last, strip(last) { result = result.dropLast() } }
                    return String(result)
                })
            case "upper": return .string(text.mapped { $0.uppercased() })
            case "lower": return .string(text.mapped { $0.lowercased() })
            case "title": return .string(text.mapped { $0.capitalized })
            case "capitalize": return .string(text.mapped { $0.prefix(1).uppercased() + $0.dropFirst().lowercased() })
            case "startswith": return .bool(strings.contains { string.hasPrefix($0) })
            case "endswith": return .bool(strings.contains { string.hasSuffix($0) })
            case "replace":
                guard strings.count >= 2 else { throw .evaluation("replace() needs two arguments") }
                return .string(text.mapped { $0.replacingOccurrences(of: strings[0], with: strings[1]) })
            case "split":
                let parts = strings.first.map { string.components(separatedBy: $0) }
                    ?? string.split(whereSeparator: \.isWhitespace).map(String.init)
                return .array(parts.map { .string(TemplateText($0, fromTemplate: text.isFromTemplate)) })
            default: break
            }
        case .object(let entries):
            switch method {
            case "items": return .array(entries.map { .array([.text($0.0), $0.1]) })
            case "keys": return .array(entries.map { .text($0.0) })
            case "values": return .array(entries.map(\.1))
            case "get":
                guard let key = strings.first else { throw .evaluation("get() needs a key") }
                let found = value[key]
                return found == .undefined ? (arguments.count > 1 ? arguments[1] : .none) : found
            default: break
            }
        default: break
        }
        throw .evaluation("unknown method '\(method)'")
    }

    static func strftime(_ format: String, _ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
                      "November", "December"]
        var result = "", escaped = false
        for character in format {
            guard escaped else {
                if character == "%" { escaped = true } else { result.append(character) }
                continue
            }
            escaped = false
            switch character {
            case "d": result += String(format: "%02d", parts.day!)
            case "m": result += String(format: "%02d", parts.month!)
            case "Y": result += String(parts.year!)
            case "y": result += String(format: "%02d", parts.year! % 100)
            case "H": result += String(format: "%02d", parts.hour!)
            case "M": result += String(format: "%02d", parts.minute!)
            case "S": result += String(format: "%02d", parts.second!)
            case "B": result += months[parts.month! - 1]
            case "b": result += String(months[parts.month! - 1].prefix(3))
            case "%": result += "%"
            default: result += "%" + String(character)
            }
        }
        return result
    }
}
