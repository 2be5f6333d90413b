import Logging
import ServiceLifecycle

/// Sends the replies queued in the outbox, oldest first, each removed once Telegram took it: a
/// reply is sent at least once whatever stops the server (a reply still waiting is sent after
/// the next start), and never twice unless the server dies between Telegram's answer and the
/// removal. On a graceful shutdown it keeps sending until the outbox is empty or the shutdown's
/// grace period ends.
final class BotOutbox: Sendable {
    let store: any BotStore
    let client: TelegramClient
    let policies: TierPolicies
    let logger: Logger
    private let wakes: AsyncStream<Void>
    private let waker: AsyncStream<Void>.Continuation

    init(store: any BotStore, client: TelegramClient, policies: TierPolicies, logger: Logger) {
        self.store = store
        self.client = client
        self.policies = policies
        self.logger = logger
        (wakes, waker) = AsyncStream<Void>.makeStream(bufferingPolicy: .bufferingNewest(1))
    }

    /// Something was queued.
    func wake() { waker.yield() }

    func run() async {
        await withGracefulShutdownHandler {
            // Replies queued here wake the outbox at once; those queued by other replicas (which
            // take webhooks too) are found by a look every second.
            await withTaskGroup(of: Void.self) { group in
                group.addTask { [client, waker] in
                    while (try? await client.clock.sleep(for: .seconds(1))) != nil { waker.yield() }
                }
                var iterator = wakes.makeAsyncIterator()
                repeat {
                    await sendQueued()
                    if Task.isShuttingDownGracefully || Task.isCancelled { break }
                } while await iterator.next() != nil
                group.cancelAll()
            }
        } onGracefulShutdown: {
            self.waker.yield()
        }
    }

    private func sendQueued() async {
        while !Task.isCancelled {
            let queued: [(id: Int64, action: BotAction?)]
            do {
                queued = try await store.queuedActions(limit: 32)
            } catch {
                logger.error("The bot's outbox could not be read", metadata: ["error": "\(error)"])
                return
            }
            if queued.isEmpty { return }
            for entry in queued {
                if let action = entry.action {
                    do {
                        try await send(action)
                    } catch is CancellationError {
                        return  // still queued: sent after the next start
                    } catch TelegramError.refused(let code, let description) {
                        // The user blocked the bot, say: nothing a retry could change.
                        logger.warning("Telegram refused a bot reply", metadata: ["code": "\(code)", "error": "\(description)"])
                    } catch {
                        return
                    }
                } else {
                    logger.error("Dropping an outbox entry this version cannot read", metadata: ["id": "\(entry.id)"])
                }
                do {
                    try await store.removeQueuedAction(id: entry.id)
                } catch {
                    logger.error("A sent reply could not be removed from the outbox", metadata: ["error": "\(error)"])
                    return
                }
            }
        }
    }

    private func send(_ action: BotAction) async throws {
        let (method, parameters): (String, [String: JSONValue])
        switch action {
        case .message(let chatID, let text):
            (method, parameters) = ("sendMessage", ["chat_id": .number(Double(chatID)), "text": .string(text)])
        case .invoice(let chatID, let tier, let stars, let days, let payload):
            let name = policies[tier].displayName
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
        _ = try await client.callRetrying(method, parameters)
    }
}
