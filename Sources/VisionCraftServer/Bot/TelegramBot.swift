import Foundation
import Logging
import ServiceLifecycle

/// Runs the operator's Telegram bot beside the API: reads updates (long polling, or the webhook
/// route in webhook mode), hands each to `BotCommands` one at a time, and re-checks channel
/// membership on an interval for leaves it never heard of. A Telegram outage only delays the bot;
/// the API never waits for it.
public final class TelegramBot: Service, Sendable {
    let settings: BotSettings
    let client: TelegramClient
    let processor: UpdateProcessor
    let store: any BotStore
    let status: BotStatus
    let logger: Logger

    init(settings: BotSettings, client: TelegramClient, commands: BotCommands, store: any BotStore, status: BotStatus,
         logger: Logger) {
        self.settings = settings
        self.client = client
        self.store = store
        self.status = status
        self.logger = logger
        processor = UpdateProcessor(commands: commands, store: store, client: client, logger: logger)
    }

    static let allowedUpdates: JSONValue = ["message", "pre_checkout_query", "chat_member"]

    /// The menu Telegram shows users; operator commands stay out of it.
    static let commandMenu: JSONValue = .array([
        ("key", "Your API key"), ("rotate", "Replace your key"), ("limits", "What each plan allows"),
        ("usage", "What you used today"), ("premium", "Tier 1 or Tier 2, paid with Stars"),
        ("trial", "Tier 1 for a day, free"), ("paysupport", "Help with payments"), ("help", "All commands"),
    ].map { ["command": .string($0.0), "description": .string($0.1)] })

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await self.keepConnected() }
                group.addTask { await self.recheckMemberships() }
                await group.waitForAll()
            }
        }
    }

    /// Introduces the bot to Telegram and receives updates; whatever stops that (a wrong token,
    /// a revoked bot, a long outage) is shown in `status` and tried again after a growing wait.
    private func keepConnected() async {
        var backoff = Backoff(maximum: .seconds(300))
        while !Task.isCancelled {
            do {
                let me = try await client.callRetrying("getMe", [:])
                _ = try await client.callRetrying("setMyCommands", ["commands": Self.commandMenu])
                status.set(.running(username: me["username"]?.stringValue ?? "?"))
                backoff.reset()
                try await receiveUpdates()
                if settings.webhookURL != nil { return }
            } catch {
                if Task.isCancelled { return }
                status.set(.failing(reason: "\(error)"))
                let wait = backoff.take()
                logger.error("Telegram bot cannot reach Telegram; trying again", metadata: [
                    "error": "\(error)", "retry_in_seconds": "\(wait.components.seconds)",
                ])
                try? await Task.sleep(for: wait * TelegramClient.delayScale)
            }
        }
    }

    private func receiveUpdates() async throws {
        do {
            if let url = settings.webhookURL {
                _ = try await client.callRetrying("setWebhook", [
                    "url": .string(url), "secret_token": .string(settings.webhookSecret ?? ""),
                    "allowed_updates": Self.allowedUpdates,
                ])
                logger.info("Telegram bot receives updates through its webhook", metadata: ["path": "\(settings.webhookPath ?? "/")"])
                return
            }
            // A webhook left from an earlier run would keep getUpdates from working.
            _ = try await client.callRetrying("deleteWebhook", [:])
            logger.info("Telegram bot is polling for updates")
            var offset = try await store.updateOffset()
            while !Task.isCancelled {
                let batch = try await client.callRetrying("getUpdates", [
                    "offset": .number(Double(offset)), "timeout": .number(Double(settings.pollTimeoutSeconds)),
                    "allowed_updates": Self.allowedUpdates,
                ], timeout: .seconds(settings.pollTimeoutSeconds))
                for json in batch.arrayValue ?? [] {
                    guard let update = TelegramUpdate(json: json) else {
                        logger.warning("Skipping a Telegram update without an id")
                        continue
                    }
                    await processor.process(update)
                    offset = max(offset, update.id + 1)
                }
            }
        }
    }

    /// For webhook mode: an update Telegram posted to our route.
    func receive(_ json: JSONValue) async {
        guard let update = TelegramUpdate(json: json) else {
            logger.warning("Skipping a Telegram update without an id")
            return
        }
        await processor.process(update)
    }

    private func recheckMemberships() async {
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: settings.membershipCheck)
                for account in try await store.accountsWithKeys() where !account.isBanned {
                    let isMember = try await processor.commands.gateway.isChannelMember(userID: account.userID)
                    await processor.membership(userID: account.userID, isMember: isMember)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("Membership re-check failed; trying again later", metadata: ["error": "\(error)"])
            }
        }
    }
}

/// Handles one update at a time, in order, whether it came from polling, the webhook or a
/// membership re-check: the update is marked handled before its answers are sent, so a restart
/// never applies it twice.
actor UpdateProcessor {
    let commands: BotCommands
    let store: any BotStore
    let client: TelegramClient
    let logger: Logger

    init(commands: BotCommands, store: any BotStore, client: TelegramClient, logger: Logger) {
        self.commands = commands
        self.store = store
        self.client = client
        self.logger = logger
    }

    func process(_ update: TelegramUpdate) async {
        do {
            guard update.id >= (try await store.updateOffset()) else { return }  // handled before
            var actions: [BotAction] = []
            do {
                actions = try await commands.handle(update)
            } catch {
                logger.error("A Telegram update could not be handled; skipped", metadata: [
                    "update_id": "\(update.id)", "error": "\(error)",
                ])
            }
            try await store.setUpdateOffset(update.id + 1)
            for action in actions { await perform(action) }
        } catch {
            logger.error("Bot state could not be saved", metadata: ["update_id": "\(update.id)", "error": "\(error)"])
        }
    }

    func membership(userID: Int64, isMember: Bool) async {
        do {
            for action in try await commands.membershipChanged(userID: userID, isMember: isMember) { await perform(action) }
        } catch {
            logger.error("Membership change could not be applied", metadata: ["error": "\(error)"])
        }
    }

    private func perform(_ action: BotAction) async {
        let (method, parameters): (String, [String: JSONValue])
        switch action {
        case .message(let chatID, let text):
            (method, parameters) = ("sendMessage", ["chat_id": .number(Double(chatID)), "text": .string(text)])
        case .invoice(let chatID, let tier, let stars, let days, let payload):
            let name = commands.policies[tier].displayName
            (method, parameters) = ("sendInvoice", [
                "chat_id": .number(Double(chatID)), "title": .string("VisionCraft \(name), \(days) days"),
                "description": .string("\(name) limits for \(days) days on your API key."), "payload": .string(payload),
                "currency": "XTR", "prices": [["label": .string(name), "amount": .number(Double(stars))]],
            ])
        case .answerPreCheckout(let queryID, let ok, let error):
            var answer: [String: JSONValue] = ["pre_checkout_query_id": .string(queryID), "ok": .bool(ok)]
            if let error { answer["error_message"] = .string(error) }
            (method, parameters) = ("answerPreCheckoutQuery", answer)
        }
        do {
            _ = try await client.callRetrying(method, parameters)
        } catch {
            // Refused (the user blocked the bot, say): nothing to retry.
            logger.warning("Telegram refused a bot action", metadata: ["method": "\(method)", "error": "\(error)"])
        }
    }
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
