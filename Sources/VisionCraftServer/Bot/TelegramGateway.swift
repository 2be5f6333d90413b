/// Asks Telegram what the bot needs to know or do before it decides: channel membership, refunds.
protocol TelegramGateway: Sendable {
    func isChannelMember(userID: Int64) async throws -> Bool
    func refundStars(userID: Int64, chargeID: String) async throws
}

/// Channel membership and refunds through the Bot API.
struct TelegramAPIGateway: TelegramGateway {
    let client: TelegramClient
    let channel: String

    var chatID: JSONValue { Int64(channel).map { .number(Double($0)) } ?? .string(channel) }

    func isChannelMember(userID: Int64) async throws -> Bool {
        do {
            let member = try await client.callRetrying("getChatMember", ["chat_id": chatID, "user_id": .number(Double(userID))])
            return TelegramUpdate.isMember(member)
        } catch TelegramError.refused {
            return false  // "user not found" and the like: not a member
        }
    }

    func refundStars(userID: Int64, chargeID: String) async throws {
        _ = try await client.callRetrying("refundStarPayment", [
            "user_id": .number(Double(userID)), "telegram_payment_charge_id": .string(chargeID),
        ])
    }
}
