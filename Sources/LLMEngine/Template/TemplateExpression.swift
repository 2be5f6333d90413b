/// A Jinja expression, parsed.
indirect enum TemplateExpression {
    case literal(TemplateValue)
    case name(String)
    case attribute(TemplateExpression, String)
    case index(TemplateExpression, TemplateExpression)
    case slice(TemplateExpression, start: TemplateExpression?, end: TemplateExpression?, step: TemplateExpression?)
    case call(TemplateExpression, arguments: [TemplateExpression], keywords: [(String, TemplateExpression)])
    case filter(TemplateExpression, name: String, arguments: [TemplateExpression], keywords: [(String, TemplateExpression)])
    case test(TemplateExpression, name: String, negated: Bool, arguments: [TemplateExpression])
    case not(TemplateExpression)
    case negate(TemplateExpression)
    case binary(String, TemplateExpression, TemplateExpression)
    case conditional(condition: TemplateExpression, then: TemplateExpression, otherwise: TemplateExpression?)
    case list([TemplateExpression])
    case dictionary([(TemplateExpression, TemplateExpression)])
}

/// Reads expressions from the inside of a tag: a small recursive-descent parser with Jinja's
/// precedence (conditional, or, and, not, comparisons and tests, `~` and `+ -`, `* / // %`,
/// unary minus, filters, then attribute, index and call suffixes).
struct TemplateExpressionParser {
    enum Token: Equatable {
        case name(String)
        case string(String)
        case int(Int)
        case double(Double)
        case symbol(String)
    }

    private var tokens: [Token]
    private var position = 0

    init(_ source: String) throws(TemplateError) {
        tokens = try Self.tokenize(source)
    }

    var isAtEnd: Bool { position >= tokens.count }

    mutating func expectEnd() throws(TemplateError) {
        if !isAtEnd { throw .syntax("unexpected \(tokens[position]) in an expression") }
    }

    static func tokenize(_ source: String) throws(TemplateError) -> [Token] {
        let characters = Array(source)
        var tokens: [Token] = []
        var index = 0
        let symbols = ["//", "**", "==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "~", "|", ".", ",", ":", "(", ")",
                       "[", "]", "{", "}", "<", ">", "="]
        while index < characters.count {
            let character = characters[index]
            if character.isWhitespace {
                index += 1
            } else if character.isLetter || character == "_" {
                var end = index
                while end < characters.count && (characters[end].isLetter || characters[end].isNumber || characters[end] == "_") { end += 1 }
                tokens.append(.name(String(characters[index..<end])))
                index = end
            } else if character.isNumber {
                var end = index
                while end < characters.count && (characters[end].isNumber || characters[end] == ".") { end += 1 }
                let text = String(characters[index..<end])
                if let value = Int(text) { tokens.append(.int(value)) } else if let value = Double(text) {
                    tokens.append(.double(value))
                } else { throw .syntax("bad number '\(text)'") }
                index = end
            } else if character == "'" || character == "\"" {
                var value = ""
                var end = index + 1
                while end < characters.count && characters[end] != character {
                    if characters[end] == "\\" && end + 1 < characters.count {
                        end += 1
                        switch characters[end] {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "r": value.append("\r")
                        default: value.append(characters[end])
                        }
                    } else {
                        value.append(characters[end])
                    }
                    end += 1
                }
                guard end < characters.count else { throw .syntax("a string is never closed") }
                tokens.append(.string(value))
                index = end + 1
            } else if let symbol = symbols.first(where: { symbol in
                Array(symbol).enumerated().allSatisfy { index + $0.offset < characters.count && characters[index + $0.offset] == $0.element }
            }) {
                tokens.append(.symbol(symbol))
                index += symbol.count
            } else {
                throw .syntax("unexpected character '\(character)'")
            }
        }
        return tokens
    }

    // MARK: Token helpers

    private var current: Token? { position < tokens.count ? tokens[position] : nil }

    mutating func accept(_ symbol: String) -> Bool {
        if current == .symbol(symbol) {
            position += 1
            return true
        }
        return false
    }

    mutating func acceptName(_ name: String) -> Bool {
        if current == .name(name) {
            position += 1
            return true
        }
        return false
    }

    mutating func expect(_ symbol: String) throws(TemplateError) {
        guard accept(symbol) else { throw .syntax("expected '\(symbol)'") }
    }

    mutating func identifier() throws(TemplateError) -> String {
        guard case .name(let name) = current else { throw .syntax("expected a name") }
        position += 1
        return name
    }

    /// Whether the next token is the name `name`, without consuming it.
    func peekName(_ name: String) -> Bool { current == .name(name) }

    // MARK: Grammar

    mutating func expression() throws(TemplateError) -> TemplateExpression {
        let value = try orExpression()
        if acceptName("if") {
            let condition = try orExpression()
            let otherwise = acceptName("else") ? try expression() : nil
            return .conditional(condition: condition, then: value, otherwise: otherwise)
        }
        return value
    }

    private mutating func orExpression() throws(TemplateError) -> TemplateExpression {
        var left = try andExpression()
        while acceptName("or") { left = .binary("or", left, try andExpression()) }
        return left
    }

    private mutating func andExpression() throws(TemplateError) -> TemplateExpression {
        var left = try notExpression()
        while acceptName("and") { left = .binary("and", left, try notExpression()) }
        return left
    }

    private mutating func notExpression() throws(TemplateError) -> TemplateExpression {
        if acceptName("not") { return .not(try notExpression()) }
        return try comparison()
    }

    private mutating func comparison() throws(TemplateError) -> TemplateExpression {
        var left = try concatenation()
        while true {
            if let symbol = ["==", "!=", "<=", ">=", "<", ">"].first(where: { current == .symbol($0) }) {
                position += 1
                left = .binary(symbol, left, try concatenation())
            } else if acceptName("in") {
                left = .binary("in", left, try concatenation())
            } else if peekName("not"), position + 1 < tokens.count, tokens[position + 1] == .name("in") {
                position += 2
                left = .not(.binary("in", left, try concatenation()))
            } else if acceptName("is") {
                let negated = acceptName("not")
                let name = try identifier()
                var arguments: [TemplateExpression] = []
                if accept("(") {
                    arguments = try argumentList().arguments
                } else if case .some(let token) = current, Self.startsPrimary(token) {
                    arguments = [try primaryWithSuffixes()]
                }
                left = .test(left, name: name, negated: negated, arguments: arguments)
            } else {
                return left
            }
        }
    }

    private static func startsPrimary(_ token: Token) -> Bool {
        switch token {
        case .string, .int, .double: true
        case .name(let name): !["and", "or", "not", "if", "else", "in", "is"].contains(name)
        default: false
        }
    }

    private mutating func concatenation() throws(TemplateError) -> TemplateExpression {
        var left = try additive()
        while accept("~") { left = .binary("~", left, try additive()) }
        return left
    }

    private mutating func additive() throws(TemplateError) -> TemplateExpression {
        var left = try multiplicative()
        while true {
            if accept("+") { left = .binary("+", left, try multiplicative()) }
            else if accept("-") { left = .binary("-", left, try multiplicative()) }
            else { return left }
        }
    }

    private mutating func multiplicative() throws(TemplateError) -> TemplateExpression {
        var left = try unary()
        while true {
            if let symbol = ["//", "*", "/", "%"].first(where: { current == .symbol($0) }) {
                position += 1
                left = .binary(symbol, left, try unary())
            } else {
                return left
            }
        }
    }

    private mutating func unary() throws(TemplateError) -> TemplateExpression {
        if accept("-") { return .negate(try unary()) }
        if accept("+") { return try unary() }
        return try filtered()
    }

    private mutating func filtered() throws(TemplateError) -> TemplateExpression {
        var value = try primaryWithSuffixes()
        while accept("|") {
            let name = try identifier()
            var arguments: [TemplateExpression] = [], keywords: [(String, TemplateExpression)] = []
            if accept("(") { (arguments, keywords) = try argumentList() }
            value = .filter(value, name: name, arguments: arguments, keywords: keywords)
        }
        return value
    }

    private mutating func primaryWithSuffixes() throws(TemplateError) -> TemplateExpression {
        var value = try primary()
        while true {
            if accept(".") {
                value = .attribute(value, try identifier())
            } else if accept("[") {
                var start: TemplateExpression? = nil
                if current != .symbol(":") { start = try expression() }
                if accept(":") {
                    let end = current == .symbol("]") || current == .symbol(":") ? nil : try expression()
                    let step = accept(":") && current != .symbol("]") ? try expression() : nil
                    try expect("]")
                    value = .slice(value, start: start, end: end, step: step)
                } else {
                    try expect("]")
                    guard let start else { throw .syntax("empty subscript") }
                    value = .index(value, start)
                }
            } else if accept("(") {
                let (arguments, keywords) = try argumentList()
                value = .call(value, arguments: arguments, keywords: keywords)
            } else {
                return value
            }
        }
    }

    /// After '(': positional and keyword arguments up to ')'.
    private mutating func argumentList() throws(TemplateError) -> (arguments: [TemplateExpression], keywords: [(String, TemplateExpression)]) {
        var arguments: [TemplateExpression] = [], keywords: [(String, TemplateExpression)] = []
        while !accept(")") {
            if case .name(let name) = current, position + 1 < tokens.count, tokens[position + 1] == .symbol("=") {
                position += 2
                keywords.append((name, try expression()))
            } else {
                arguments.append(try expression())
            }
            if !accept(",") {
                try expect(")")
                break
            }
        }
        return (arguments, keywords)
    }

    private mutating func primary() throws(TemplateError) -> TemplateExpression {
        guard let token = current else { throw .syntax("an expression ends too early") }
        position += 1
        switch token {
        case .string(var value):
            // Adjacent string literals join, as in Python.
            while case .string(let next) = current {
                value += next
                position += 1
            }
            return .literal(.text(value))
        case .int(let value): return .literal(.int(value))
        case .double(let value): return .literal(.double(value))
        case .name(let name):
            switch name {
            case "true", "True": return .literal(.bool(true))
            case "false", "False": return .literal(.bool(false))
            case "none", "None": return .literal(.none)
            default: return .name(name)
            }
        case .symbol("("):
            let value = try expression()
            if accept(",") {
                var items = [value]
                while !accept(")") {
                    items.append(try expression())
                    if !accept(",") { try expect(")"); break }
                }
                return .list(items)
            }
            try expect(")")
            return value
        case .symbol("["):
            var items: [TemplateExpression] = []
            while !accept("]") {
                items.append(try expression())
                if !accept(",") { try expect("]"); break }
            }
            return .list(items)
        case .symbol("{"):
            var entries: [(TemplateExpression, TemplateExpression)] = []
            while !accept("}") {
                let key = try expression()
                try expect(":")
                entries.append((key, try expression()))
                if !accept(",") { try expect("}"); break }
            }
            return .dictionary(entries)
        default:
            throw .syntax("unexpected \(token)")
        }
    }
}
