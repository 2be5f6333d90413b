import Foundation
import Logging

/// The bot's behaviour: each update in, its changes and replies out. What Telegram must be asked
/// (channel membership, a refund) is asked first, in `facts`; then `handle` decides and changes
/// keys, tiers and accounts inside one transaction that also queues the replies, so a change is
/// never made without its reply, nor twice. Every message is plain text (no parse mode), so nothing
/// a user types can be rendered as markup.
struct BotCommands: Sendable {
    let settings: BotSettings
    let admission: Admission
    let policies: TierPolicies
    let gateway: any TelegramGateway
    let clock: WallClock
    let logger: Logger

    static let leftChannelReason = "its Telegram owner left the channel. Rejoin the channel to use it again."
    static let bannedReason = "it was banned by the operator."

    /// What Telegram said, before the update's transaction opens.
    struct Facts: Sendable {
        var isChannelMember: Bool?
        var refund: RefundOutcome?
    }

    enum RefundOutcome: Sendable, Equatable {
        case refunded(StarsPayment)
        case refused(String)
    }

    func facts(for update: TelegramUpdate, store: any BotStore) async -> Facts {
        guard case .command(_, let userID, let name, let arguments) = update.event else { return Facts() }
        switch name {
        case "key":
            return Facts(isChannelMember: try? await gateway.isChannelMember(userID: userID))
        case "refund" where settings.adminIDs.contains(userID):
            return Facts(refund: await refund(chargeID: arguments.first, store: store))
        default:
            return Facts()
        }
    }

    func handle(_ update: TelegramUpdate, facts: Facts, in tx: any BotTransaction) throws -> [BotAction] {
        switch update.event {
        case .command(let chatID, let userID, let name, let arguments):
            if name == "premium" { return try premium(chatID: chatID, userID: userID, in: tx) }
            let text = try command(name, arguments, userID: userID, chatID: chatID, facts: facts, in: tx)
            return [.message(chatID: chatID, text: text)]
        case .preCheckout(let queryID, let userID, let payload, let currency, let amount):
            let problem = checkPayment(userID: userID, payload: payload, currency: currency, amount: amount)
            return [.answerPreCheckout(queryID: queryID, ok: problem == nil, error: problem)]
        case .payment(let chatID, let userID, let payload, let chargeID, let currency, let amount):
            return [.message(chatID: chatID, text: try credit(
                userID: userID, payload: payload, chargeID: chargeID, currency: currency, amount: amount, in: tx))]
        case .membership(let chatID, let username, let userID, let isMember):
            guard isOurChannel(chatID: chatID, username: username) else { return [] }
            return try membershipChanged(userID: userID, isMember: isMember, in: tx)
        case .ignored:
            return []
        }
    }

    // MARK: Commands

    private func command(
        _ name: String, _ arguments: [String], userID: Int64, chatID: Int64, facts: Facts, in tx: any BotTransaction
    ) throws -> String {
        switch name {
        case "start", "help": return help(userID: userID)
        case "key": return try issueKey(userID: userID, chatID: chatID, isMember: facts.isChannelMember, in: tx)
        case "rotate": return try rotateKey(userID: userID, chatID: chatID, in: tx)
        case "limits": return limitsText()
        case "usage": return try usageText(userID: userID, in: tx)
        case "trial": return try claimTrial(userID: userID, chatID: chatID, in: tx)
        case "paysupport": return settings.supportText
        case "ban", "unban", "grant", "refund":
            guard settings.adminIDs.contains(userID) else { return "Unknown command. Send /help for the list." }
            return try operatorCommand(name, arguments, refund: facts.refund, in: tx)
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

    private func issueKey(userID: Int64, chatID: Int64, isMember: Bool?, in tx: any BotTransaction) throws -> String {
        var account = try tx.account(userID: userID) ?? TelegramAccount(userID: userID, chatID: chatID)
        if account.isBanned { return "Your access was banned by the operator." }
        guard let isMember else { return "Telegram could not confirm your membership just now; send /key again in a minute." }
        guard isMember else { return "Join \(settings.channel) first, then send /key again." }
        if let keyID = account.keyID, let record = try tx.key(id: keyID), record.revokedAt == nil {
            return "You already have a key (\(record.prefix)…). It is shown only once; send /rotate for a new one (the old one stops working at once)."
        }
        let minted = try tx.createKey(tier: .free, tierUntil: nil, label: "telegram:\(userID)", now: clock.now())
        account.keyID = minted.record.id
        account.chatID = chatID
        account.leftChannel = false
        try tx.save(account)
        logger.info("Bot issued a key", metadata: ["telegram_user": "\(userID)", "key_id": "\(minted.record.id)"])
        return "Your API key:\n\n\(minted.plainText)\n\nKeep it secret: it is shown only this once. Send it as \"Authorization: Bearer <key>\"."
    }

    private func rotateKey(userID: Int64, chatID: Int64, in tx: any BotTransaction) throws -> String {
        guard var account = try tx.account(userID: userID), let keyID = account.keyID, let old = try tx.key(id: keyID) else {
            return "You have no key yet. Send /key."
        }
        if account.isBanned { return "Your access was banned by the operator." }
        let minted = try tx.createKey(tier: old.tier, tierUntil: old.tierUntil, label: "telegram:\(userID)", now: clock.now())
        if !old.isActive { try tx.setActive(keyID: minted.record.id, active: false, reason: old.deactivationReason) }
        try tx.revokeKey(id: old.id, now: clock.now())
        account.keyID = minted.record.id
        account.chatID = chatID
        try tx.save(account)
        return "Your new API key:\n\n\(minted.plainText)\n\nThe old key (\(old.prefix)…) no longer works."
    }

    private func limitsText() -> String {
        Tier.allCases.map { tier in
            let policy = policies[tier]
            let concurrency = policy.concurrency.map { "\($0) at a time" } ?? "unlimited"
            return "\(policy.displayName): chat \(policy.chat.summary); images \(policy.image.summary); GIFs \(policy.gif.summary); generations \(concurrency)"
        }.joined(separator: "\n")
    }

    private func usageText(userID: Int64, in tx: any BotTransaction) throws -> String {
        guard let keyID = try tx.account(userID: userID)?.keyID, let record = try tx.key(id: keyID) else {
            return "You have no key yet. Send /key."
        }
        let tier = record.effectiveTier(at: clock.now())
        let policy = policies[tier]
        var lines = ["Today on \(policy.displayName)" + (record.tierUntil.map { tier == .free ? "" : " (until \(Self.format($0)))" } ?? "") + ":"]
        for category in UsageCategory.allCases {
            let spent = try tx.requestsToday(keyID: keyID, category: category, day: AdmissionStateMachine.dayIndex(clock.now()))
                ?? admission.spentToday(keyID: keyID, category: category)
            lines.append("\(category.rawValue): \(spent) of \(policy[category].perDay.map(String.init) ?? "unlimited")")
        }
        return lines.joined(separator: "\n")
    }

    private func claimTrial(userID: Int64, chatID: Int64, in tx: any BotTransaction) throws -> String {
        guard var account = try tx.account(userID: userID), let keyID = account.keyID, let record = try tx.key(id: keyID) else {
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
        try tx.setTier(keyID: keyID, tier: .tier1, until: trialEnd)
        account.trialClaimedAt = now
        account.chatID = chatID
        try tx.save(account)
        return "Tier 1 is yours until \(Self.format(trialEnd))."
    }

    static func format(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm 'UTC'"
        return formatter.string(from: date)
    }
}
