import Foundation

/// What the bot does in answer to an update: sent after the change it reports is committed, from
/// the outbox it was written to in the same transaction.
public enum BotAction: Sendable, Equatable {
    case message(chatID: Int64, text: String)
    case invoice(chatID: Int64, tier: Tier, stars: Int, days: Int, payload: String)
    case answerPreCheckout(queryID: String, ok: Bool, error: String?)
}

extension BotAction {
    /// The outbox's stored form.
    var json: JSONValue {
        switch self {
        case .message(let chatID, let text):
            ["kind": "message", "chat_id": .string(String(chatID)), "text": .string(text)]
        case .invoice(let chatID, let tier, let stars, let days, let payload):
            ["kind": "invoice", "chat_id": .string(String(chatID)), "tier": .string(tier.rawValue),
             "stars": .number(Double(stars)), "days": .number(Double(days)), "payload": .string(payload)]
        case .answerPreCheckout(let queryID, let ok, let error):
            ["kind": "pre_checkout", "query_id": .string(queryID), "ok": .bool(ok),
             "error": error.map(JSONValue.string) ?? .null]
        }
    }

    init?(json: JSONValue) {
        let chatID = json["chat_id"]?.stringValue.flatMap { Int64($0) }
        switch json["kind"]?.stringValue {
        case "message":
            guard let chatID, let text = json["text"]?.stringValue else { return nil }
            self = .message(chatID: chatID, text: text)
        case "invoice":
            guard let chatID, let tier = json["tier"]?.stringValue.flatMap(Tier.init(rawValue:)),
                  let stars = json["stars"]?.intValue, let days = json["days"]?.intValue,
                  let payload = json["payload"]?.stringValue else { return nil }
            self = .invoice(chatID: chatID, tier: tier, stars: stars, days: days, payload: payload)
        case "pre_checkout":
            guard let queryID = json["query_id"]?.stringValue, case .bool(let ok)? = json["ok"] else { return nil }
            self = .answerPreCheckout(queryID: queryID, ok: ok, error: json["error"]?.stringValue)
        default:
            return nil
        }
    }
}
