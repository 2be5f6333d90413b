import Logging

/// Handles one update at a time, in order, whether it came from polling, the webhook or a
/// membership re-check: Telegram is asked what the update needs, then the update's changes, its
/// replies (into the outbox) and its mark as handled are committed in one transaction, and the
/// outbox is woken to send them.
actor UpdateProcessor {
    let commands: BotCommands
    let store: any BotStore
    let outbox: BotOutbox
    /// Key changes bypass the API's key cache, so it is told to forget what it holds: inside the
    /// transaction, as the replies go into the outbox — a reply ("works again") can be sent the
    /// moment they commit, and its reader's next request must not find the old key — and again
    /// after the commit, for anything looked up in between.
    let keysChanged: @Sendable () -> Void
    let logger: Logger

    init(commands: BotCommands, store: any BotStore, outbox: BotOutbox, keysChanged: @escaping @Sendable () -> Void,
         logger: Logger) {
        self.commands = commands
        self.store = store
        self.outbox = outbox
        self.keysChanged = keysChanged
        self.logger = logger
    }

    func process(_ update: TelegramUpdate) async {
        do {
            let facts = await commands.facts(for: update, store: store)
            let (commands, clock, keysChanged) = (commands, commands.clock, keysChanged)
            do {
                try await store.transaction { tx in
                    guard try tx.claimUpdate(update.id, now: clock.now()) else { return }  // handled before
                    for action in try commands.handle(update, facts: facts, in: tx) { try tx.queue(action, now: clock.now()) }
                    try tx.setUpdateOffset(update.id + 1)
                    keysChanged()
                }
            } catch {
                // Nothing of it was applied; skip it rather than stop the bot on it.
                logger.error("A Telegram update could not be handled; skipped", metadata: [
                    "update_id": "\(update.id)", "error": "\(error)",
                ])
                try await store.transaction { tx in
                    _ = try tx.claimUpdate(update.id, now: clock.now())
                    try tx.setUpdateOffset(update.id + 1)
                }
            }
            keysChanged()
            outbox.wake()
        } catch {
            logger.error("Bot state could not be saved", metadata: ["update_id": "\(update.id)", "error": "\(error)"])
        }
    }

    /// A re-check's answer for `userID`, asked while the account said `leftChannel`.
    func membership(userID: Int64, isMember: Bool, leftChannel: Bool) async {
        do {
            let (commands, clock, keysChanged) = (commands, commands.clock, keysChanged)
            try await store.transaction { tx in
                for action in try commands.membershipChanged(userID: userID, isMember: isMember, ifLeftChannelWas: leftChannel,
                                                                 in: tx) {
                    try tx.queue(action, now: clock.now())
                }
                keysChanged()
            }
            keysChanged()
            outbox.wake()
        } catch {
            logger.error("Membership change could not be applied", metadata: ["error": "\(error)"])
        }
    }
}
