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
    let outbox: BotOutbox
    let store: any BotStore
    let status: BotStatus
    let logger: Logger

    init(settings: BotSettings, client: TelegramClient, processor: UpdateProcessor, outbox: BotOutbox,
         store: any BotStore, status: BotStatus, logger: Logger) {
        self.settings = settings
        self.client = client
        self.store = store
        self.status = status
        self.logger = logger
        self.processor = processor
        self.outbox = outbox
    }

    static let allowedUpdates: JSONValue = ["message", "pre_checkout_query", "chat_member"]

    /// The menu Telegram shows users; operator commands stay out of it.
    static let commandMenu: JSONValue = .array([
        ("key", "Your API key"), ("rotate", "Replace your key"), ("limits", "What each plan allows"),
        ("usage", "What you used today"), ("premium", "Tier 1 or Tier 2, paid with Stars"),
        ("trial", "Tier 1 for a day, free"), ("paysupport", "Help with payments"), ("help", "All commands"),
    ].map { ["command": .string($0.0), "description": .string($0.1)] })

    /// Receiving stops at once on a graceful shutdown; the outbox goes on sending what is queued
    /// until it is empty or the shutdown's grace period ends.
    public func run() async throws {
        // With replicas, one of them runs the bot; the others take over if it goes.
        if store.isShared { status.set(.standby) }
        await store.whileLeader { [self] in
            status.set(.starting)
            await runHere()
        }
    }

    private func runHere() async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await cancelWhenGracefulShutdown {
                    await withTaskGroup(of: Void.self) { receiving in
                        receiving.addTask { await self.keepConnected() }
                        receiving.addTask { await self.recheckMemberships() }
                        await receiving.waitForAll()
                    }
                }
            }
            group.addTask { await self.outbox.run() }
            await group.waitForAll()
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
                try? await client.clock.sleep(for: wait)
            }
        }
    }

    private func receiveUpdates() async throws {
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
                await receive(json)
                if let id = json["update_id"]?.intValue { offset = max(offset, Int64(id) + 1) }
            }
        }
    }

    /// An update from polling, or one Telegram posted to the webhook route.
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
                try await client.clock.sleep(for: settings.membershipCheck)
                for account in try await store.accountsWithKeys() where !account.isBanned {
                    let isMember = try await processor.commands.gateway.isChannelMember(userID: account.userID)
                    await processor.membership(userID: account.userID, isMember: isMember, leftChannel: account.leftChannel)
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("Membership re-check failed; trying again later", metadata: ["error": "\(error)"])
            }
        }
    }
}
