/// The parts of a Telegram update the bot acts on. Anything else, or anything malformed, is
/// `.ignored` and skipped.
struct TelegramUpdate: Sendable, Equatable {
    let id: Int64
    let event: Event

    enum Event: Sendable, Equatable {
        /// `/name arguments…` in a private chat.
        case command(chatID: Int64, userID: Int64, name: String, arguments: [String])
        case preCheckout(queryID: String, userID: Int64, payload: String, currency: String, amount: Int)
        case payment(chatID: Int64, userID: Int64, payload: String, chargeID: String, currency: String, amount: Int)
        /// Someone joined or left a chat (`chat_member`).
        case membership(chatID: Int64, chatUsername: String?, userID: Int64, isMember: Bool)
        case ignored
    }

    init(id: Int64, event: Event) {
        self.id = id
        self.event = event
    }

    /// Nil when the update has no id at all (then there is no offset to move past it either).
    init?(json: JSONValue) {
        guard let id = json["update_id"]?.intValue else { return nil }
        self.id = Int64(id)
        event = Self.event(json)
    }

    private static func event(_ json: JSONValue) -> Event {
        if let message = json["message"] {
            guard let chatID = message["chat"]?["id"]?.intValue, let userID = message["from"]?["id"]?.intValue else {
                return .ignored
            }
            if let payment = message["successful_payment"] {
                guard let payload = payment["invoice_payload"]?.stringValue,
                      let chargeID = payment["telegram_payment_charge_id"]?.stringValue,
                      let currency = payment["currency"]?.stringValue, let amount = payment["total_amount"]?.intValue
                else { return .ignored }
                return .payment(chatID: Int64(chatID), userID: Int64(userID), payload: payload, chargeID: chargeID,
                                currency: currency, amount: amount)
            }
            guard message["chat"]?["type"]?.stringValue == "private", let text = message["text"]?.stringValue,
                  text.hasPrefix("/") else { return .ignored }
            let words = text.split(whereSeparator: \.isWhitespace).map(String.init)
            // "/key@SomeBot" addresses this bot by name; the name itself does not matter here.
            let name = String(words[0].dropFirst().prefix { $0 != "@" }).lowercased()
            return .command(chatID: Int64(chatID), userID: Int64(userID), name: name, arguments: Array(words.dropFirst()))
        }
        if let query = json["pre_checkout_query"] {
            guard let queryID = query["id"]?.stringValue, let userID = query["from"]?["id"]?.intValue,
                  let payload = query["invoice_payload"]?.stringValue, let currency = query["currency"]?.stringValue,
                  let amount = query["total_amount"]?.intValue else { return .ignored }
            return .preCheckout(queryID: queryID, userID: Int64(userID), payload: payload, currency: currency, amount: amount)
        }
        if let change = json["chat_member"] {
            guard let chatID = change["chat"]?["id"]?.intValue,
                  let userID = change["new_chat_member"]?["user"]?["id"]?.intValue,
                  change["new_chat_member"]?["status"]?.stringValue != nil else { return .ignored }
            return .membership(chatID: Int64(chatID), chatUsername: change["chat"]?["username"]?.stringValue,
                               userID: Int64(userID), isMember: isMember(change["new_chat_member"] ?? .null))
        }
        return .ignored
    }

    /// Whether a ChatMember (from `chat_member` or `getChatMember`) is in the chat: its status, or
    /// for a restricted member its `is_member` flag.
    static func isMember(_ member: JSONValue) -> Bool {
        switch member["status"]?.stringValue {
        case "creator", "administrator", "member": true
        case "restricted": member["is_member"] == .bool(true)
        default: false
        }
    }
}
