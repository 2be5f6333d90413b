import Foundation

/// Telegram Stars: invoices, the pre-checkout check, crediting a payment once.
extension BotCommands {
    /// A Stars invoice for each paid plan, after a line saying what they are.
    func premium(chatID: Int64, userID: Int64, in tx: any BotTransaction) throws -> [BotAction] {
        guard let account = try tx.account(userID: userID), account.keyID != nil, !account.isBanned else {
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
    func checkPayment(userID: Int64, payload: String, currency: String, amount: Int) -> String? {
        let parts = payload.split(separator: ":")
        guard parts.count == 2, let tier = Tier(rawValue: String(parts[0])), tier != .free, Int64(parts[1]) == userID else {
            return "This invoice is not valid. Send /premium for a new one."
        }
        guard currency == "XTR", amount == settings.prices[tier] else {
            return "The price has changed. Send /premium for a new invoice."
        }
        return nil
    }

    func credit(
        userID: Int64, payload: String, chargeID: String, currency: String, amount: Int, in tx: any BotTransaction
    ) throws -> String {
        if let problem = checkPayment(userID: userID, payload: payload, currency: currency, amount: amount) {
            logger.error("Payment that does not match its invoice", metadata: ["charge": "\(chargeID)", "problem": "\(problem)"])
            return "We could not match this payment to a plan; send /paysupport."
        }
        let tier = Tier(rawValue: String(payload.split(separator: ":")[0]))!
        let now = clock.now()
        let payment = StarsPayment(chargeID: chargeID, userID: userID, tier: tier, stars: amount, days: settings.premiumDays,
                                   paidAt: now, refundedAt: nil)
        guard try tx.record(payment) else { return "This payment was already credited." }
        guard let keyID = try tx.account(userID: userID)?.keyID, let record = try tx.key(id: keyID) else {
            logger.error("Payment from a user without a key", metadata: ["charge": "\(chargeID)"])
            return "Payment received, but you have no key; send /key, then /paysupport."
        }
        // The same plan again extends its period; another plan starts now.
        let start = record.effectiveTier(at: now) == tier ? max(record.tierUntil ?? now, now) : now
        let until = start.addingTimeInterval(Double(settings.premiumDays) * 86_400)
        try tx.setTier(keyID: keyID, tier: tier, until: until)
        logger.info("Bot credited a payment", metadata: ["charge": "\(chargeID)", "tier": "\(tier.rawValue)"])
        return "Thank you! \(policies[tier].displayName) is active until \(Self.format(until))."
    }

    /// Returns the Stars through Telegram, before the refund's transaction records it. A charge
    /// Telegram says is refunded already was refunded by an earlier try whose record was lost.
    func refund(chargeID: String?, store: any BotStore) async -> RefundOutcome {
        do {
            guard let chargeID, let payment = try await store.payment(chargeID: chargeID) else {
                return .refused("Usage: /refund <charge id> (no such payment)")
            }
            if payment.refundedAt != nil { return .refused("That payment was already refunded.") }
            do {
                try await gateway.refundStars(userID: payment.userID, chargeID: chargeID)
            } catch TelegramError.refused(_, let description) where description.uppercased().contains("ALREADY_REFUNDED") {
                logger.info("Telegram had refunded this charge already", metadata: ["charge": "\(chargeID)"])
            }
            return .refunded(payment)
        } catch {
            return .refused("The refund failed: \(error). Nothing was changed.")
        }
    }
}
