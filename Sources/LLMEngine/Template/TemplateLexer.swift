/// Splits a Jinja template into text, `{{ expression }}` and `{% statement %}` chunks, applying
/// whitespace control as Hugging Face renders chat templates: `trim_blocks` (a newline after a
/// block tag is dropped), `lstrip_blocks` (spaces before a block tag on its line are dropped), and
/// the `-` markers that strip all whitespace on one side.
enum TemplateLexer {
    enum Chunk: Equatable {
        case text(String)
        case expression(String)
        case statement(String)
    }

    static func chunks(_ source: String) throws(TemplateError) -> [Chunk] {
        let characters = Array(source)
        var chunks: [Chunk] = []
        var position = 0
        var stripNextLeading = false
        var dropNextNewline = false

        func find(_ pattern: String, from start: Int) -> Int? {
            let needle = Array(pattern)
            var index = start
            while index + needle.count <= characters.count {
                if characters[index] == needle[0] && Array(characters[index..<index + needle.count]) == needle { return index }
                index += 1
            }
            return nil
        }

        while position <= characters.count {
            // The next tag opening.
            var open: Int? = nil
            var scan = position
            while scan + 1 < characters.count {
                if characters[scan] == "{", ["{", "%", "#"].contains(characters[scan + 1]) {
                    open = scan
                    break
                }
                scan += 1
            }
            let textEnd = open ?? characters.count
            var text = String(characters[position..<textEnd])
            var lineStarting = position == 0 || characters[position - 1] == "\n"
            if dropNextNewline && text.hasPrefix("\n") {
                text.removeFirst()
                lineStarting = true
            }
            if stripNextLeading { text = String(text.drop(while: \.isWhitespace)) }
            guard let open else {
                if !text.isEmpty { chunks.append(.text(text)) }
                break
            }
            let kind = characters[open + 1]
            let marker: Character? = open + 2 < characters.count ? characters[open + 2] : nil
            let close: String = kind == "{" ? "}}" : kind == "%" ? "%}" : "#}"
            guard let closeIndex = find(close, from: open + 2) else {
                throw .syntax("a tag opened with '{\(kind)' is never closed")
            }
            if marker == "-" {
                text = String(text.reversed().drop(while: \.isWhitespace).reversed())
            } else if kind != "{" && marker != "+" {
                // lstrip_blocks: a block tag alone after spaces at the start of its line.
                let lastNewline = text.lastIndex(of: "\n")
                let lineTail = lastNewline.map { text[text.index(after: $0)...] } ?? Substring(text)
                if (lastNewline != nil || lineStarting) && lineTail.allSatisfy({ $0 == " " || $0 == "\t" }) {
                    text.removeLast(lineTail.count)
                }
            }
            if !text.isEmpty { chunks.append(.text(text)) }

            var innerStart = open + 2
            if marker == "-" || marker == "+" { innerStart += 1 }
            var innerEnd = closeIndex
            let rightStrip = innerEnd > innerStart && characters[innerEnd - 1] == "-"
            if rightStrip { innerEnd -= 1 }
            let inner = String(characters[innerStart..<max(innerStart, innerEnd)]).trimmingWhitespace()
            switch kind {
            case "{": chunks.append(.expression(inner))
            case "%": chunks.append(.statement(inner))
            default: break
            }
            stripNextLeading = rightStrip
            dropNextNewline = kind != "{" && !rightStrip
            position = closeIndex + 2
        }
        return chunks
    }
}

extension StringProtocol {
    func trimmingWhitespace() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
