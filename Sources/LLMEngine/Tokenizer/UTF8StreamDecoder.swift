/// Turns a stream of token bytes into text without ever showing half a character: bytes that end
/// in the middle of a UTF-8 sequence wait for the next token.
public struct UTF8StreamDecoder: Sendable {
    private var pending: [UInt8] = []

    public init() {}

    /// The text that is complete after adding `bytes`.
    public mutating func append(_ bytes: [UInt8]) -> String {
        pending += bytes
        let complete = Self.completePrefixLength(pending)
        guard complete > 0 else { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// What is left at the end: nothing, since only the start of a character can be waiting.
    /// An answer cut off inside a character (say, by `max_tokens`) ends before it, as llama.cpp's
    /// server ends it, rather than with U+FFFD.
    public mutating func finish() -> String {
        pending.removeAll()
        return ""
    }

    /// How many leading bytes form whole characters (an invalid byte counts as whole: it will
    /// never become valid).
    static func completePrefixLength(_ bytes: [UInt8]) -> Int {
        var index = bytes.count
        // Look back at most 3 bytes for the start of an unfinished sequence.
        var back = 0
        while index > 0 && back < 4 {
            let byte = bytes[index - 1]
            if byte & 0xC0 == 0x80 {  // continuation byte
                index -= 1
                back += 1
                continue
            }
            let needed = byte >= 0xF8 ? 1 : byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : byte >= 0xC0 ? 2 : 1
            return needed > back + 1 ? index - 1 : bytes.count
        }
        return bytes.count
    }
}
