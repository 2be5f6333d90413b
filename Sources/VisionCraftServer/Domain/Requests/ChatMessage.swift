/// One turn of a conversation. Content keeps the order of its parts, so a vision backend sees
/// text and images as the client arranged them.
public struct ChatMessage: Sendable, Equatable {
    public enum Part: Sendable, Equatable {
        case text(String)
        /// A `data:` URL or an `http(s)` URL, passed on to vision-capable backends as given.
        case imageURL(String)
    }

    public var role: String
    public var parts: [Part]
    public var name: String?

    public static let roles: Set<String> = ["system", "developer", "user", "assistant", "tool"]

    public init(role: String, parts: [Part], name: String? = nil) {
        self.role = role
        self.parts = parts
        self.name = name
    }

    public init(role: String, text: String) {
        self.init(role: role, parts: [.text(text)])
    }

    /// The text parts joined, for backends and token counts that only see text.
    public var text: String {
        parts.compactMap { if case .text(let text) = $0 { text } else { nil } }.joined(separator: "\n")
    }

    public var hasImages: Bool {
        parts.contains { if case .imageURL = $0 { true } else { false } }
    }

    static func parseList(_ value: JSONValue?) throws(APIError) -> [ChatMessage] {
        guard let value else { throw APIError.missingParameter("messages") }
        guard let items = value.arrayValue else {
            throw APIError.invalidParameter("messages", "'messages' must be a list of message objects.")
        }
        guard !items.isEmpty else {
            throw APIError.invalidParameter("messages", "'messages' must hold at least one message.")
        }
        var messages: [ChatMessage] = []
        messages.reserveCapacity(items.count)
        for (index, item) in items.enumerated() {
            messages.append(try parse(item, at: index))
        }
        return messages
    }

    static func parse(_ value: JSONValue, at index: Int) throws(APIError) -> ChatMessage {
        let param = "messages[\(index)]"
        guard let object = value.objectValue else {
            throw APIError.invalidParameter(param, "'\(param)' must be an object with 'role' and 'content'.")
        }
        guard let role = object["role"]?.stringValue else {
            throw APIError.invalidParameter("\(param).role", "'\(param).role' must be a string.")
        }
        guard roles.contains(role) else {
            throw APIError.invalidParameter(
                "\(param).role", "'\(param).role' must be one of \(roles.sorted().joined(separator: ", ")), got '\(role)'.")
        }
        let name = object["name"]?.stringValue
        switch object["content"] {
        case .string(let text)?:
            return ChatMessage(role: role, parts: [.text(text)], name: name)
        case .array(let items)?:
            var parts: [Part] = []
            for (partIndex, item) in items.enumerated() {
                parts.append(try parsePart(item, param: "\(param).content[\(partIndex)]"))
            }
            return ChatMessage(role: role, parts: parts, name: name)
        case .null?, .none:
            // An assistant turn that only called tools has no content.
            guard role == "assistant" else { throw APIError.missingParameter("\(param).content") }
            return ChatMessage(role: role, parts: [], name: name)
        default:
            throw APIError.invalidParameter(
                "\(param).content", "'\(param).content' must be a string or a list of content parts.")
        }
    }

    static func parsePart(_ value: JSONValue, param: String) throws(APIError) -> Part {
        switch value["type"]?.stringValue {
        case "text":
            guard let text = value["text"]?.stringValue else {
                throw APIError.invalidParameter("\(param).text", "'\(param).text' must be a string.")
            }
            return .text(text)
        case "image_url":
            // OpenAI accepts both {"image_url": {"url": ...}} and the older {"image_url": "..."}.
            let url = value["image_url"]?["url"]?.stringValue ?? value["image_url"]?.stringValue
            guard let url, url.hasPrefix("data:image/") || url.hasPrefix("https://") || url.hasPrefix("http://") else {
                throw APIError.invalidParameter(
                    "\(param).image_url", "'\(param).image_url.url' must be a data:image/... URL or an http(s) URL.")
            }
            return .imageURL(url)
        default:
            throw APIError.invalidParameter("\(param).type", "'\(param).type' must be 'text' or 'image_url'.")
        }
    }
}
