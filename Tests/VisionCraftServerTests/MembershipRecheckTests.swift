import Foundation
import Logging
import Testing
@testable import VisionCraftServer

/// The bot's periodic membership re-check asks Telegram, then applies the answer; an update (the
/// member rejoining) can be handled in between. A "left" asked before the rejoin must not pause
/// the key again after it.
struct MembershipRecheckTests {
    struct NoTelegram: TelegramGateway {
        func isChannelMember(userID: Int64) async throws -> Bool { true }
        func refundStars(userID: Int64, chargeID: String) async throws {}
    }

    static func commands(clock: ManualClock) throws -> BotCommands {
        var section = TelegramSettings(channel: "@vc_channel")
        section.adminIds = []
        let settings = try #require(try BotSettings.resolve(section, environment: ["TELEGRAM_BOT_TOKEN": "t"]))
        return BotCommands(settings: settings, admission: Admission(policies: .defaults, clock: clock.wallClock),
                           policies: .defaults, gateway: NoTelegram(), clock: clock.wallClock, logger: Logger(label: "test"))
    }

    @Test func anAnswerOlderThanARejoinIsNotApplied() async throws {
        let database = try SQLiteDatabase.inMemory()
        let store = SQLiteBotStore(database: database), commands = try Self.commands(clock: ManualClock())
        let keyID = try await store.transaction { tx in
            let minted = try tx.createKey(tier: .free, tierUntil: nil, label: nil, now: Date(timeIntervalSince1970: 0))
            try tx.save(TelegramAccount(userID: 42, chatID: 42, keyID: minted.record.id, leftChannel: true))
            try tx.setActive(keyID: minted.record.id, active: false, reason: "left")
            return minted.record.id
        }
        // The re-check read the account (left) and asked Telegram ("not a member"); meanwhile the
        // member rejoined and that update was handled.
        let rejoined = try await store.transaction { tx in try commands.membershipChanged(userID: 42, isMember: true, in: tx) }
        #expect(rejoined.count == 1, "the rejoin is told")
        let stale = try await store.transaction { tx in
            try commands.membershipChanged(userID: 42, isMember: false, ifLeftChannelWas: true, in: tx)
        }
        #expect(stale.isEmpty, "no 'paused' message")
        let record = try await store.transaction { tx in try tx.key(id: keyID) }
        #expect(record?.isActive == true)
        #expect(try await store.account(userID: 42)?.leftChannel == false)

        // A re-check whose account did not change meanwhile is applied.
        let left = try await store.transaction { tx in
            try commands.membershipChanged(userID: 42, isMember: false, ifLeftChannelWas: false, in: tx)
        }
        #expect(left.count == 1)
        #expect(try await store.transaction { tx in try tx.key(id: keyID) }?.isActive == false)
    }
}
