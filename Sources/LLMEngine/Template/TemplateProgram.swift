/// A parsed template: text, outputs and the statements chat templates use (`for` with `loop`,
/// `if`/`elif`/`else`, `set` including namespace attributes and blocks, `macro`).
indirect enum TemplateNode {
    case text(String)
    case output(TemplateExpression)
    case forLoop(targets: [String], iterable: TemplateExpression, condition: TemplateExpression?, body: [TemplateNode],
                 otherwise: [TemplateNode])
    case conditional([(TemplateExpression, [TemplateNode])], otherwise: [TemplateNode])
    case assign(target: String, attribute: String?, value: TemplateExpression)
    case assignBlock(target: String, body: [TemplateNode])
    case macro(name: String, parameters: [(String, TemplateExpression?)], body: [TemplateNode])
    case loopControl(breaks: Bool)
}

struct TemplateProgram {
    let nodes: [TemplateNode]

    init(source: String) throws(TemplateError) {
        var parser = StatementParser(chunks: try TemplateLexer.chunks(source))
        let (nodes, end) = try parser.parse(until: [])
        if let end { throw .syntax("unexpected '{% \(end) %}'") }
        self.nodes = nodes
    }

    private struct StatementParser {
        let chunks: [TemplateLexer.Chunk]
        var position = 0

        init(chunks: [TemplateLexer.Chunk]) {
            self.chunks = chunks
        }

        /// Nodes up to a statement whose first word is in `terminators`; returns that statement's
        /// parser (positioned after the word) so the caller can read the rest.
        mutating func parse(until terminators: Set<String>) throws(TemplateError) -> ([TemplateNode], String?) {
            var nodes: [TemplateNode] = []
            while position < chunks.count {
                let chunk = chunks[position]
                position += 1
                switch chunk {
                case .text(let text): nodes.append(.text(text))
                case .expression(let source):
                    var parser = try TemplateExpressionParser(source)
                    nodes.append(.output(try parser.expression()))
                    try parser.expectEnd()
                case .statement(let source):
                    var parser = try TemplateExpressionParser(source)
                    let keyword = try parser.identifier()
                    if terminators.contains(keyword) {
                        lastStatement = parser
                        return (nodes, keyword)
                    }
                    if let node = try statement(keyword, &parser) { nodes.append(node) }
                }
            }
            if !terminators.isEmpty { throw .syntax("missing '{% \(terminators.sorted().joined(separator: " or ")) %}'") }
            return (nodes, nil)
        }

        /// The parser of the statement that ended the last `parse(until:)`.
        var lastStatement: TemplateExpressionParser?

        private mutating func statement(_ keyword: String, _ parser: inout TemplateExpressionParser) throws(TemplateError) -> TemplateNode? {
            switch keyword {
            case "for":
                var targets = [try parser.identifier()]
                while parser.accept(",") { targets.append(try parser.identifier()) }
                guard parser.acceptName("in") else { throw .syntax("expected 'in' in a for loop") }
                let iterable = try parser.expression()
                let condition = parser.acceptName("if") ? try parser.expression() : nil
                try parser.expectEnd()
                var (body, end) = try parse(until: ["endfor", "else"])
                var otherwise: [TemplateNode] = []
                if end == "else" {
                    (otherwise, end) = try parse(until: ["endfor"])
                }
                return .forLoop(targets: targets, iterable: iterable, condition: condition, body: body, otherwise: otherwise)
            case "if":
                var branches: [(TemplateExpression, [TemplateNode])] = []
                var condition = try parser.expression()
                try parser.expectEnd()
                while true {
                    let (body, end) = try parse(until: ["elif", "else", "endif"])
                    branches.append((condition, body))
                    if end == "elif" {
                        var next = lastStatement!
                        condition = try next.expression()
                        try next.expectEnd()
                        continue
                    }
                    var otherwise: [TemplateNode] = []
                    if end == "else" { (otherwise, _) = try parse(until: ["endif"]) }
                    return .conditional(branches, otherwise: otherwise)
                }
            case "set":
                let target = try parser.identifier()
                let attribute = parser.accept(".") ? try parser.identifier() : nil
                if parser.accept("=") {
                    let value = try parser.expression()
                    try parser.expectEnd()
                    return .assign(target: target, attribute: attribute, value: value)
                }
                try parser.expectEnd()
                let (body, _) = try parse(until: ["endset"])
                return .assignBlock(target: target, body: body)
            case "macro":
                let name = try parser.identifier()
                try parser.expect("(")
                var parameters: [(String, TemplateExpression?)] = []
                while !parser.accept(")") {
                    let parameter = try parser.identifier()
                    parameters.append((parameter, parser.accept("=") ? try parser.expression() : nil))
                    if !parser.accept(",") { try parser.expect(")"); break }
                }
                let (body, _) = try parse(until: ["endmacro"])
                return .macro(name: name, parameters: parameters, body: body)
            case "break", "continue":
                return .loopControl(breaks: keyword == "break")
            case "generation", "endgeneration":
                // Hugging Face's marker for assistant-token masks: no output of its own.
                return nil
            default:
                throw .syntax("'{% \(keyword) %}' is not supported")
            }
        }
    }
}
