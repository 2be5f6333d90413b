import Foundation
import Logging

/// What the bot does in answer to an update, performed after the update is marked handled.
enum BotAction: Sendable, Equatable {
    case message(chatID: Int64, text: String)
    case invoice(chatID: Int64, tier: Tier, stars: Int, days: Int, payload: String)
    case answerPreCheckout(queryID: String, ok: Bool, error: String?)
}

/// Asks Telegram what the bot needs to know or do while deciding: channel membership, refunds.
protocol TelegramGateway: Sendable {
    func isChannelMember(userID: Int64) async throws -> Bool
    func refundStars(userID: Int64, chargeID: String) async throws
}

/// The bot's behaviour: each update in, the actions to answer it with out. Keys, tiers and
/// payments change here, through the same key repository the API authenticates against. Every
/// message is plain text (no parse mode), so nothing a user types can be rendered as markup.
struct BotCommands: Sendable {
    let settings: BotSettings
    let store: any BotStore
    let keys: any KeyRepository
    let admission: Admission
    let policies: TierPolicies
    let gateway: any TelegramGateway
    let clock: WallClock
    let logger: Logger

    static let leftChannelReason = "its Telegram owner left the channel. Rejoin the channel to use it again."
    static let bannedReason = "it was banned by the operator."

    func handle(_ update: TelegramUpdate) async throws -> [BotAction] {
        switch update.event {
        case .command(let chatID, let userID, let name, let arguments):
            if name == "premium" { return try await premium(chatID: chatID, userID: userID) }
            return [.message(chatID: chatID, text: try await command(name, arguments, userID: userID, chatID: chatID))]
        case .preCheckout(let queryID, let userID, let payload, let currency, let amount):
            let problem = checkPayment(userID: userID, payload: payload, currency: currency, amount: amount)
            return [.answerPreCheckout(queryID: queryID, ok: problem == nil, error: problem)]
        case .payment(let chatID, let userID, let payload, let chargeID, let currency, let amount):
            return [.message(chatID: chatID, text: try await credit(
                userID: userID, chatID: chatID, payload: payload, chargeID: chargeID, currency: currency, amount: amount))]
        case .membership(let chatID, let username, let userID, let isMember):
            guard isOurChannel(chatID: chatID, username: username) else { return [] }
            return try await membershipChanged(userID: userID, isMember: isMember)
        case .ignored:
            return []
        }
    }

    // MARK: Commands

    private func command(_ name: String, _ arguments: [String], userID: Int64, chatID: Int64) async throws -> String {
        switch name {
        case "start", "help": return help(userID: userID)
        case "key": return try await issueKey(userID: userID, chatID: chatID)
        case "rotate": return try await rotateKey(userID: userID, chatID: chatID)
        case "limits": return limitsText()
        case "usage": return try await usageText(userID: userID)
        case "trial": return try await claimTrial(userID: userID, chatID: chatID)
        case "paysupport": return settings.supportText
        case "ban", "unban", "grant", "refund":
            guard settings.adminIDs.contains(userID) else { return "Unknown command. Send /help for the list." }
            return try await operatorCommand(name, arguments)
        default: return "Unknown command. Send /help for the list."
        }
    }

    private func help(userID: Int64) -> String {
        var lines = [
            "VisionCraft API keys.", "",
            "/key - your API key (you must be a member of \(settings.channel))",
            "/rotate - replace your key; the old one stops working at once",
            "/limits - what each plan allows", "/usage - what you used today",
            "/premium - Tier 1 or Tier 2 for \(settings.premiumDays) days, paid with Telegram Stars",
            "/trial - Tier 1 for \(settings.trialHours) hours, once every \(settings.trialPeriodDays) days",
            "/paysupport - help with payments",
        ]
        if settings.adminIDs.contains(userID) {
            lines += ["", "Operator: /ban <user id>, /unban <user id>, /grant <user id> <tier1|tier2> <days>, /refund <charge id>"]
        }
        return lines.joined(separator: "\n")
    }

    private func issueKey(userID: Int64, chatID: Int64) async throws -> String {
        var account = try await store.account(userID: userID) ?? TelegramAccount(userID: userID, chatID: chatID)
        if account.isBanned { return "Your access was banned by the operator." }
        guard try await gateway.isChannelMember(userID: userID) else {
            return "Join \(settings.channel) first, then send /key again."
        }
        if let keyID = account.keyID, let record = try await keys.resolve(String(keyID)), record.revokedAt == nil {
            return "You already have a key (\(record.prefix)…). It is shown only once; send /rotate for a new one (the old one stops working at once)."
        }
        let minted = try await keys.create(tier: .free, tierUntil: nil, label: "telegram:\(userID)", now: clock.now())
        account.keyID = minted.record.id
        account.chatID = chatID
        account.leftChannel = false
        try await store.save(account)
        logger.info("Bot issued a key", metadata: ["telegram_user": "\(userID)", "key_id": "\(minted.record.id)"])
        return "Your API key:\n\n\(minted.plainText)\n\nKeep it secret: it is shown only this once. Send it as \"Authorization: Bearer <key>\"."
    }

    private func rotateKey(userID: Int64, chatID: Int64) async throws -> String {
        guard var account = try await store.account(userID: userID), let keyID = account.keyID,
              let old = try await keys.resolve(String(keyID)) else {
            return "You have no key yet. Send /key."
        }
        if account.isBanned { return "Your access was banned by the operator." }
        let minted = try await keys.create(tier: old.tier, tierUntil: old.tierUntil, label: "telegram:\(userID)", now: clock.now())
        if !old.isActive {
            try await keys.setActive(id: minted.record.id, active: false, reason: old.deactivationReason)
        }
        try await keys.revoke(id: old.id, now: clock.now())
        account.keyID = minted.record.id
        account.chatID = chatID
        try await store.save(account)
        return "Your new API key:\n\n\(minted.plainText)\n\nThe old key (\(old.prefix)…) no longer works."
    }

    private func limitsText() -> String {
        Tier.allCases.map { tier in
            let policy = policies[tier]
            let concurrency = policy.concurrency.map { "\($0) at a time" } ?? "unlimited"
            return "\(policy.displayName): chat \(policy.chat.summary); images \(policy.image.summary); GIFs \(policy.gif.summary); generations \(concurrency)"
        }.joined(separator: "\n")
    }

    private func usageText(userID: Int64) async throws -> String {
        guard let keyID = try await store.account(userID: userID)?.keyID, let record = try await keys.resolve(String(keyID)) else {
            return "You have no key yet. Send /key."
        }
        let tier = record.effectiveTier(at: clock.now())
        let policy = policies[tier]
        var lines = ["Today on \(policy.displayName)" + (record.tierUntil.map { tier == .free ? "" : " (until \(Self.format($0)))" } ?? "") + ":"]
        for category in UsageCategory.allCases {
            let spent = admission.spentToday(keyID: keyID, category: category)
            lines.append("\(category.rawValue): \(spent) of \(policy[category].perDay.map(String.init) ?? "unlimited")")
        }
        return lines.joined(separator: "\n")
    }

    private func claimTrial(userID: Int64, chatID: Int64) async throws -> String {
        guard var account = try await store.account(userID: userID), let keyID = account.keyID,
              let record = try await keys.resolve(String(keyID)) else {
            return "Get a key with /key first."
        }
        let now = clock.now()
        if let claimed = account.trialClaimedAt {
            let next = claimed.addingTimeInterval(Double(settings.trialPeriodDays) * 86_400)
            if next > now { return "You claimed a trial on \(Self.format(claimed)). The next one is available on \(Self.format(next))." }
        }
        let trialEnd = now.addingTimeInterval(Double(settings.trialHours) * 3_600)
        let current = record.effectiveTier(at: now)
        if current > .tier1 || (current == .tier1 && (record.tierUntil ?? .distantFuture) >= trialEnd) {
            return "You already have \(policies[current].displayName)\(record.tierUntil.map { " until \(Self.format($0))" } ?? ""); the trial would not add anything."
        }
        try await keys.setTier(id: keyID, tier: .tier1, until: trialEnd)
        account.trialClaimedAt = now
        account.chatID = chatID
        try await store.save(account)
        return "Tier 1 is yours until \(Self.format(trialEnd))."
    }

    // MARK: Payments

    /// A Stars invoice for each paid plan, after a line saying what they are.
    private func premium(chatID: Int64, userID: Int64) async throws -> [BotAction] {
        guard let account = try await store.account(userID: userID), account.keyID != nil, !account.isBanned else {
            return [.message(chatID: chatID, text: "Get a key with /key first.")]
        }
        let invoices: [BotAction] = [Tier.tier1, .tier2].compactMap { tier in
            settings.prices[tier].map {
                .invoice(chatID: chatID, tier: tier, stars: $0, days: settings.premiumDays, payload: "\(tier.rawValue):\(userID)")
            }
        }
        return [.message(chatID: chatID, text: "Choose a plan below. Paying for the plan you have extends it.")] + invoices
    }

    /// Why a payment must not go through, or nil when it may.
    private func checkPayment(userID: Int64, payload: String, currency: String, amount: Int) -> String? {
        let parts = payload.split(separator: ":")
        guard parts.count == 2, let tier = Tier(rawValue: String(parts[0])), tier != .free, Int64(parts[1]) == userID else {
            return "This invoice is not valid. Send /premium for a new one."
        }
        guard currency == "XTR", amount == settings.prices[tier] else {
            return "The price has changed. Send /premium for a new invoice."
        }
        return nil
    }

    private func credit(userID: Int64, chatID: Int64, payload: String, chargeID: String, currency: String, amount: Int) async throws -> String {
        if let problem = checkPayment(userID: userID, payload: payload, currency: currency, amount: amount) {
            logger.error("Payment that does not match its invoice", metadata: ["charge": "\(chargeID)", "problem": "\(problem)"])
            return "We could not match this payment to a plan; send /paysupport."
        }
        let tier = Tier(rawValue: String(payload.split(separator: ":")[0]))!
        let now = clock.now()
        let payment = StarsPayment(chargeID: chargeID, userID: userID, tier: tier, stars: amount, days: settings.premiumDays,
                                   paidAt: now, refundedAt: nil)
        guard try await store.record(payment) else {
            return "This payment was already credited."
        }
        guard let keyID = try await store.account(userID: userID)?.keyID, let record = try await keys.resolve(String(keyID)) else {
            logger.error("Payment from a user without a key", metadata: ["charge": "\(chargeID)"])
            return "Payment received, but you have no key; send /key, then /paysupport."
        }
        // The same plan again extends its period; another plan starts now.
        let start = record.effectiveTier(at: now) == tier ? max(record.tierUntil ?? now, now) : now
        let until = start.addingTimeInterval(Double(settings.premiumDays) * 86_400)
        try await keys.setTier(id: keyID, tier: tier, until: until)
        logger.info("Bot credited a payment", metadata: ["charge": "\(chargeID)", "tier": "\(tier.rawValue)"])
        return "Thank you! \(policies[tier].displayName) is active until \(Self.format(until))."
    }

    // MARK: Channel membership

    private func isOurChannel(chatID: Int64, username: String?) -> Bool {
        settings.channel == String(chatID) || username.map { "@" + $0.lowercased() } == settings.channel.lowercased()
    }

    func membershipChanged(userID: Int64, isMember: Bool) async throws -> [BotAction] {
        guard var account = try await store.account(userID: userID), let keyID = account.keyID else { return [] }
        if isMember == !account.leftChannel { return [] }
        account.leftChannel = !isMember
        try await store.save(account)
        if account.isBanned { return [] }
        try await keys.setActive(id: keyID, active: isMember, reason: isMember ? nil : Self.leftChannelReason)
        let text = isMember ? "Welcome back! Your API key works again."
            : "You left \(settings.channel), so your API key is paused. Rejoin to use it again."
        return [.message(chatID: account.chatID, text: text)]
    }

    // MARK: Operator

    private func operatorCommand(_ name: String, _ arguments: [String]) async throws -> String {
        if name == "refund" {
            guard let chargeID = arguments.first, let payment = try await store.payment(chargeID: chargeID) else {
                return "Usage: /refund <charge id> (no such payment)"
            }
            if payment.refundedAt != nil { return "That payment was already refunded." }
            try await gateway.refundStars(userID: payment.userID, chargeID: chargeID)
            let now = clock.now()
            try await store.markRefunded(chargeID: chargeID, at: now)
            guard let keyID = try await store.account(userID: payment.userID)?.keyID,
                  let record = try await keys.resolve(String(keyID)) else {
                return "Refunded \(payment.stars) Stars to \(payment.userID)."
            }
            let current = (tier: record.effectiveTier(at: now), until: record.tierUntil)
            let left = PaidPlan.afterRefund(of: payment, payments: try await store.payments(userID: payment.userID),
                                            current: current, at: now)
            try await keys.setTier(id: keyID, tier: left.tier, until: left.until)
            return "Refunded \(payment.stars) Stars to \(payment.userID); their key is on \(policies[left.tier].displayName)"
                + (left.until.map { " until \(Self.format($0))." } ?? ".")
        }
        guard let target = arguments.first.flatMap(Int64.init), var account = try await store.account(userID: target) else {
            return "Usage: /\(name) <user id> (a user who has talked to the bot)"
        }
        switch name {
        case "ban", "unban":
            account.isBanned = name == "ban"
            try await store.save(account)
            if let keyID = account.keyID {
                let active = !account.isBanned && !account.leftChannel
                try await keys.setActive(id: keyID, active: active, reason: account.isBanned ? Self.bannedReason : Self.leftChannelReason)
            }
            return "\(target) is \(account.isBanned ? "banned" : "no longer banned")."
        default:  // grant
            guard arguments.count == 3, let tier = Tier(rawValue: arguments[1]), let days = Int(arguments[2]), days > 0 else {
                return "Usage: /grant <user id> <tier1|tier2> <days>"
            }
            guard let keyID = account.keyID else { return "\(target) has no key yet." }
            let until = clock.now().addingTimeInterval(Double(days) * 86_400)
            try await keys.setTier(id: keyID, tier: tier, until: until)
            return "\(target) has \(policies[tier].displayName) until \(Self.format(until))."
        }
    }

    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
