import Foundation

/// Operators' commands and channel membership.
extension BotCommands {
    func operatorCommand(_ name: String, _ arguments: [String], refund: RefundOutcome?, in tx: any BotTransaction) throws
        -> String
    {
        if name == "refund" {
            guard case .refunded(let payment) = refund else {
                if case .refused(let message) = refund { return message }
                return "Usage: /refund <charge id>"
            }
            return try recordRefund(payment, in: tx)
        }
        guard let target = arguments.first.flatMap(Int64.init), var account = try tx.account(userID: target) else {
            return "Usage: /\(name) <user id> (a user who has talked to the bot)"
        }
        switch name {
        case "ban", "unban":
            account.isBanned = name == "ban"
            try tx.save(account)
            if let keyID = account.keyID {
                let active = !account.isBanned && !account.leftChannel
                try tx.setActive(keyID: keyID, active: active, reason: account.isBanned ? Self.bannedReason : Self.leftChannelReason)
            }
            return "\(target) is \(account.isBanned ? "banned" : "no longer banned")."
        default:  // grant
            guard arguments.count == 3, let tier = Tier(rawValue: arguments[1]), let days = Int(arguments[2]), days > 0 else {
                return "Usage: /grant <user id> <tier1|tier2> <days>"
            }
            guard let keyID = account.keyID else { return "\(target) has no key yet." }
            let until = clock.now().addingTimeInterval(Double(days) * 86_400)
            try tx.setTier(keyID: keyID, tier: tier, until: until)
            return "\(target) has \(policies[tier].displayName) until \(Self.format(until))."
        }
    }

    /// A refunded payment's period comes off the key; what the user's other payments bought stays.
    private func recordRefund(_ payment: StarsPayment, in tx: any BotTransaction) throws -> String {
        let now = clock.now()
        try tx.markRefunded(chargeID: payment.chargeID, at: now)
        guard let keyID = try tx.account(userID: payment.userID)?.keyID, let record = try tx.key(id: keyID) else {
            return "Refunded \(payment.stars) Stars to \(payment.userID)."
        }
        let current = (tier: record.effectiveTier(at: now), until: record.tierUntil)
        let left = PaidPlan.afterRefund(of: payment, payments: try tx.payments(userID: payment.userID), current: current, at: now)
        try tx.setTier(keyID: keyID, tier: left.tier, until: left.until)
        return "Refunded \(payment.stars) Stars to \(payment.userID); their key is on \(policies[left.tier].displayName)"
            + (left.until.map { " until \(Self.format($0))." } ?? ".")
    }

    func isOurChannel(chatID: Int64, username: String?) -> Bool {
        settings.channel == String(chatID) || username.map { "@" + $0.lowercased() } == settings.channel.lowercased()
    }

    /// `isMember` applied to `userID`'s account and key. From a re-check, `ifLeftChannelWas` is what
    /// the account said before Telegram was asked: if an update changed it meanwhile, the answer
    /// may be older than that update (a "left" from before a rejoin), and is not applied.
    func membershipChanged(
        userID: Int64, isMember: Bool, ifLeftChannelWas seen: Bool? = nil, in tx: any BotTransaction
    ) throws -> [BotAction] {
        guard var account = try tx.account(userID: userID), let keyID = account.keyID else { return [] }
        if isMember == !account.leftChannel { return [] }
        if let seen, seen != account.leftChannel { return [] }
        account.leftChannel = !isMember
        try tx.save(account)
        if account.isBanned { return [] }
        try tx.setActive(keyID: keyID, active: isMember, reason: isMember ? nil : Self.leftChannelReason)
        let text = isMember ? "Welcome back! Your API key works again."
            : "You left \(settings.channel), so your API key is paused. Rejoin to use it again."
        return [.message(chatID: account.chatID, text: text)]
    }
}
