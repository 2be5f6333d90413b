import Foundation
import NIOCore
import Testing
@testable import VisionCraftServer

/// The hand-written JSON reader and writer, checked against Foundation's JSONSerialization as the
/// reference: both must read every document the same way and agree on what they refuse.
@Suite struct JSONCodecTests {
    static let documents = [
        #"{"model":"m","messages":[{"role":"user","content":"hi"}],"max_tokens":512,"temperature":0.7}"#,
        #"[1, -0, 0.5, -12.25e-3, 1E+2, 123456789012, 1e308, 5e-324, 0.1]"#,
        #"{"nested":{"deeper":{"deepest":[[[]],{}]}},"empty":"","t":true,"f":false,"n":null}"#,
        #"["\"quoted\"", "back\\slash", "tab\there", "new\nline", "\u00e9\u4e2d\ud83d\ude00", "\/"]"#,
        "  \n\t{ \"spaced\" :  [ 1 , 2 ] }  ",
        #"{"emoji":"🦊 Füchse — 狐","zero":"\u0000","bell":"\u0007"}"#,
        #"{"dup":1,"dup":2}"#,
        #""just a string""#,
        "42",
    ]

    static let invalid = [
        "", "{", "}", "[1,]", "{\"a\":1,}", "{'a':1}", "[01]", "[1.]", "[.5]", "[-]", "[1e]", "tru", "nul",
        "[\"\\x\"]", "[\"\\ud800\"]", "[\"\\udc00\"]", "[\"a\nb\"]", "{\"a\" 1}", "[1 2]", "{} {}", "[NaN]", "[Infinity]",
        String(repeating: "[", count: 300) + String(repeating: "]", count: 300),
    ]

    static let foundationAccepts: Set = ["[1,]", "{\"a\":1,}", "[\"\\ud800\"]", "[\"\\udc00\"]"]

    static func foundation(_ text: String) -> Any? {
        try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
    }

    static func equal(_ value: JSONValue, _ reference: Any) -> Bool {
        switch (value, reference) {
        case (.null, is NSNull): return true
        case (.string(let a), let b as String): return a == b
        case (.bool(let a), let b as NSNumber) where String(describing: type(of: b)) == "__NSCFBoolean": return a == b.boolValue
        case (.number(let a), let b as NSNumber): return a == b.doubleValue
        case (.integer(let a), let b as NSNumber): return a == b.int64Value
        case (.array(let a), let b as [Any]): return a.count == b.count && zip(a, b).allSatisfy { equal($0, $1) }
        case (.object(let a), let b as [String: Any]):
            return a.count == b.count && a.allSatisfy { key, value in b[key].map { equal(value, $0) } ?? false }
        default: return false
        }
    }

    @Test(arguments: documents)
    func readsLikeFoundation(_ text: String) throws {
        let reference = try #require(Self.foundation(text))
        let value = try JSONValue.parse(text)
        #expect(Self.equal(value, reference), "\(text)")
    }

    @Test(arguments: documents)
    func writesWhatFoundationReadsBack(_ text: String) throws {
        let value = try JSONValue.parse(text)
        let written = String(buffer: value.buffer)
        let reference = try #require(Self.foundation(written), "\(written)")
        #expect(Self.equal(value, reference), "\(written)")
        #expect(try JSONValue.parse(written) == value)
    }

    @Test(arguments: invalid)
    func refusesWhatIsNotJSON(_ text: String) {
        #expect(throws: JSONReader.SyntaxError.self, "\(text.prefix(40))") { try JSONValue.parse(text) }
        // Foundation is laxer than RFC 8259 about trailing commas and lone surrogates; we are not.
        if text.count < 100 && !Self.foundationAccepts.contains(text) { #expect(Self.foundation(text) == nil) }
    }

    @Test func controlCharactersAndQuotesAreEscapedOnOutput() {
        let value: JSONValue = ["text": .string("a\"b\\c\nd\u{01}é")]
        #expect(String(buffer: value.buffer) == #"{"text":"a\"b\\c\nd\u0001é"}"#)
    }

    @Test func integersStayExactPastADoublesPrecision() throws {
        let text = "[9007199254740993,-9223372036854775808,9223372036854775807]"
        let value = try JSONValue.parse(text)
        #expect(value == [.integer(9_007_199_254_740_993), .integer(.min), .integer(.max)])
        #expect(String(buffer: value.buffer) == text)
        #expect(try JSONValue.parse("1.0") == JSONValue.parse("1"), "the same number, written either way")
    }

    @Test func keysAreWrittenSortedAndIntegralNumbersAsIntegers() {
        let value: JSONValue = ["b": 2, "a": 1.5, "c": [true, .null], "d": .number(-3)]
        #expect(String(buffer: value.buffer) == #"{"a":1.5,"b":2,"c":[true,null],"d":-3}"#)
    }
}

@Suite struct ContentEventTests {
    @Test(arguments: [true, false])
    func aContentEventIsTheGenericChunksBytes(_ includeUsage: Bool) {
        let wire = ChatCompletionWire(model: "m\"odel", now: Date(timeIntervalSince1970: 1_700_000_000))
        let event = ChatCompletionWire.ContentEvent(wire: wire, includeUsage: includeUsage)
        for text in ["Hello", " \"quoted\" \\ and\nnewline\u{1}", "🍓 strawberry", ""] {
            var expected = ByteBuffer(string: "data: ")
            JSONWriter.write(wire.chunk(delta: ["content": .string(text)], finishReason: nil, includeUsage: includeUsage),
                             into: &expected)
            expected.writeString("\n\n")
            #expect(event.event(text) == expected)
        }
    }
}
