import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import Testing
@testable import VisionCraftServer

/// The operator's bot end to end: the real server with its bot, Telegram played by a Bot API
/// double on a loopback socket, the key checked on the real chat endpoint (embedded model).
@Suite(.serialized) struct TelegramBotTests {
    static let admin: Int64 = 999

    static func environment(
        telegram url: String, database: SQLiteDatabase, clock: ManualClock = ManualClock(), webhook: Bool = false,
        token: String = TelegramBotAPIDouble.token
    ) async throws -> TestEnvironment {
        var settings = TelegramSettings(channel: TelegramBotAPIDouble.channel)
        settings.apiBaseUrl = url
        settings.adminIds = [admin]
        settings.pollTimeoutSeconds = 1
        settings.membershipCheckMinutes = 0.01
        if webhook {
            settings.mode = "webhook"
            settings.webhookUrl = "https://bot.example.com/telegram/hook"
        }
        var configuration = ServerConfiguration()
        configuration.telegram = settings
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let services = try await AppServices.make(
            configuration: configuration, keys: SQLiteKeyRepository(database: database),
            usageRepository: SQLiteUsageRepository(database: database),
            environment: ["TELEGRAM_BOT_TOKEN": token, "TELEGRAM_WEBHOOK_SECRET": "s3cret"],
            modelsDirectory: EmbeddedModelTests.modelsDirectory, botStore: SQLiteBotStore(database: database),
            // Backoffs of milliseconds, not seconds.
            clock: clock.wallClock, botClock: ScaledClock(factor: 0.01), logger: logger)
        return TestEnvironment(services: services, clock: clock, database: database)
    }

    /// A live server with its bot, Telegram played by a fresh double, a fresh database.
    static func withBot(
        _ body: @Sendable (TelegramBotAPIDouble, TestEnvironment, String) async throws -> Void
    ) async throws {
        let telegram = TelegramBotAPIDouble()
        try await telegram.run { url in
            let environment = try await Self.environment(telegram: url, database: try SQLiteDatabase.inMemory())
            try await environment.live { server in try await body(telegram, environment, server) }
        }
    }

    /// Waits for the bot's `count`-th message to `chat` and returns it.
    static func message(_ count: Int, to chat: Int64, _ telegram: TelegramBotAPIDouble) async throws -> String {
        let arrived = await eventually(timeout: .seconds(15)) { telegram.messages(to: chat).count >= count }
        try #require(arrived, "message \(count) to \(chat); so far: \(telegram.messages(to: chat))")
        return telegram.messages(to: chat)[count - 1]
    }

    static func key(in text: String) throws -> String {
        let match = try #require(text.firstMatch(of: /vc_[A-Za-z0-9_\-]+/), "no key in \(text)")
        return String(match.output)
    }

    static func chat(_ server: String, key: String) async throws -> (status: Int, message: String) {
        let response = try await LiveClient.post(
            "\(server)/v1/chat/completions",
            json: body(["model": EmbeddedModelTests.name, "messages": [["role": "user", "content": "Hi"]], "max_tokens": 128]),
            key: key)
        return (response.status, response.body.json["error"]["message"].string ?? "")
    }

    @Test func aMembersKeyPausesWhenTheyLeaveAndWorksAgainWhenTheyRejoin() async throws {
        let telegram = TelegramBotAPIDouble()
        try await telegram.run { url in
            let environment = try await Self.environment(telegram: url, database: try SQLiteDatabase.inMemory())
            try await environment.live { server in
                telegram.send("/key", from: 42)
                #expect(try await Self.message(1, to: 42, telegram).contains("Join \(TelegramBotAPIDouble.channel) first"))

                telegram.join(42)
                telegram.send("/key", from: 42)
                let key = try Self.key(in: try await Self.message(2, to: 42, telegram))
                #expect(try await Self.chat(server, key: key).status == 200)

                telegram.send("/key", from: 42)
                #expect(try await Self.message(3, to: 42, telegram).contains("already have a key"))

                telegram.leave(42)
                #expect(try await Self.message(4, to: 42, telegram).contains("paused"))
                environment.clock.advance(by: 2)
                let refused = try await Self.chat(server, key: key)
                #expect(refused.status == 403)
                #expect(refused.message.contains("left the channel"))

                telegram.join(42)
                #expect(try await Self.message(5, to: 42, telegram).contains("works again"))
                environment.clock.advance(by: 2)
                let again = try await Self.chat(server, key: key)
                #expect(again.status == 200, "the same key, not a new one: \(again)")

                telegram.send("/rotate", from: 42)
                let rotated = try Self.key(in: try await Self.message(6, to: 42, telegram))
                #expect(rotated != key)
                environment.clock.advance(by: 2)
                let old = try await Self.chat(server, key: key)
                #expect(old.status == 401, "the old key stops at once: \(old)")
                environment.clock.advance(by: 2)
                let new = try await Self.chat(server, key: rotated)
                #expect(new.status == 200, "\(new)")
            }
            #expect(telegram.calls("getChatMember").allSatisfy { $0.parameters["chat_id"] as? String == TelegramBotAPIDouble.channel })
            #expect(telegram.calls("sendMessage").allSatisfy { $0.parameters["parse_mode"] == nil }, "plain text only")
        }
    }

    @Test func aTrialIsOncePerPeriod() async throws {
        try await Self.withBot { telegram, environment, _ in
            telegram.join(7)
            telegram.send("/key", from: 7)
            _ = try await Self.message(1, to: 7, telegram)
            telegram.send("/trial", from: 7)
            #expect(try await Self.message(2, to: 7, telegram).contains("Tier 1 is yours until 2026-01-02 00:00 UTC"))
            let record = try #require(try await environment.services.keys.list().first)
            #expect(record.effectiveTier(at: environment.clock.wallClock.now()) == .tier1)

            environment.clock.advance(by: 3 * 86_400)
            telegram.send("/trial", from: 7)
            #expect(try await Self.message(3, to: 7, telegram).contains("next one is available on 2026-01-08 00:00 UTC"))

            environment.clock.advance(by: 4 * 86_400 + 1)
            telegram.send("/trial", from: 7)
            #expect(try await Self.message(4, to: 7, telegram).contains("Tier 1 is yours"))
        }
    }

    @Test func aStarsPaymentUpgradesOnceAndARefundEndsIt() async throws {
        try await Self.withBot { telegram, environment, server in
            telegram.join(5)
            telegram.send("/key", from: 5)
            let key = try Self.key(in: try await Self.message(1, to: 5, telegram))

            telegram.send("/premium", from: 5)
            #expect(await eventually { telegram.calls("sendInvoice").count == 2 })
            let invoices = telegram.calls("sendInvoice").map(\.parameters)
            #expect(invoices.map { $0["currency"] as? String } == ["XTR", "XTR"])
            #expect(invoices.map { $0["payload"] as? String } == ["tier1:5", "tier2:5"])

            telegram.preCheckout(id: "q1", from: 5, payload: "tier2:5", amount: 1000)
            telegram.preCheckout(id: "q2", from: 5, payload: "tier2:5", amount: 1)
            telegram.preCheckout(id: "q3", from: 6, payload: "tier2:5", amount: 1000)
            #expect(await eventually { telegram.calls("answerPreCheckoutQuery").count == 3 })
            #expect(telegram.calls("answerPreCheckoutQuery").map { $0.parameters["ok"] as? Bool } == [true, false, false])

            telegram.pay(chargeID: "charge-1", from: 5, payload: "tier2:5", amount: 1000)
            #expect(try await Self.message(3, to: 5, telegram).contains("Tier 2 is active until 2026-01-31 00:00 UTC"))
            // Tier 2 has no rate limit: requests back to back all pass.
            for _ in 0..<3 { #expect(try await Self.chat(server, key: key).status == 200) }

            telegram.pay(chargeID: "charge-1", from: 5, payload: "tier2:5", amount: 1000)
            #expect(try await Self.message(4, to: 5, telegram).contains("already credited"))
            let record = try #require(try await environment.services.keys.list().first)
            #expect(record.tier == .tier2)
            #expect(record.tierUntil == environment.clock.wallClock.now().addingTimeInterval(30 * 86_400))

            // Paying for the same plan again, ten days on, extends the period it has.
            environment.clock.advance(by: 10 * 86_400)
            telegram.pay(chargeID: "charge-2", from: 5, payload: "tier2:5", amount: 1000)
            #expect(try await Self.message(5, to: 5, telegram).contains("Tier 2 is active until 2026-03-02 00:00 UTC"))

            telegram.send("/refund charge-1", from: 5)
            #expect(try await Self.message(6, to: 5, telegram).contains("Unknown command"), "operators only")
            telegram.send("/refund charge-1", from: Self.admin)
            #expect(try await Self.message(1, to: Self.admin, telegram).contains("Refunded 1000 Stars"))
            #expect(telegram.calls("refundStarPayment").map { $0.parameters["telegram_payment_charge_id"] as? String } == ["charge-1"])
            // The refund takes back charge-1's period only: charge-2 still buys thirty days from when it was paid.
            let afterRefund = try #require(try await environment.services.keys.list().first)
            #expect(afterRefund.tier == .tier2)
            #expect(afterRefund.tierUntil == environment.clock.wallClock.now().addingTimeInterval(30 * 86_400))
            telegram.send("/refund charge-2", from: Self.admin)
            #expect(try await Self.message(2, to: Self.admin, telegram).contains("Refunded 1000 Stars"))
            #expect(try await environment.services.keys.list().first?.tier == .free)
            #expect(try await Self.chat(server, key: key).status == 200)
            #expect(try await Self.chat(server, key: key).status == 429, "back on Free's one request per second")
        }
    }

    @Test func aRefundTakesBackOnlyWhatItsPaymentBought() async throws {
        try await Self.withBot { telegram, environment, _ in
            telegram.join(7)
            telegram.send("/key", from: 7)
            _ = try await Self.message(1, to: 7, telegram)
            telegram.pay(chargeID: "t1", from: 7, payload: "tier1:7", amount: 500)
            #expect(try await Self.message(2, to: 7, telegram).contains("Tier 1 is active"))
            environment.clock.advance(by: 86_400)
            telegram.pay(chargeID: "t2-a", from: 7, payload: "tier2:7", amount: 1000)
            #expect(try await Self.message(3, to: 7, telegram).contains("Tier 2 is active"))
            telegram.pay(chargeID: "t2-b", from: 7, payload: "tier2:7", amount: 1000)
            #expect(try await Self.message(4, to: 7, telegram).contains("Tier 2 is active"))
            let paid = try #require(try await environment.services.keys.list().first)
            #expect(paid.tier == .tier2)
            #expect(paid.tierUntil == environment.clock.wallClock.now().addingTimeInterval(60 * 86_400))

            telegram.send("/refund t1", from: Self.admin)
            #expect(try await Self.message(1, to: Self.admin, telegram).contains("Refunded 500 Stars"))
            let afterRefund = try #require(try await environment.services.keys.list().first)
            #expect(afterRefund.tier == .tier2, "the Tier 2 time paid for stays")
            #expect(afterRefund.tierUntil == paid.tierUntil)
        }
    }

    @Test func operatorsBanUnbanAndGrantAndMissedLeavesAreCaught() async throws {
        try await Self.withBot { telegram, environment, server in
            telegram.join(21)
            telegram.send("/key", from: 21)
            let key = try Self.key(in: try await Self.message(1, to: 21, telegram))

            telegram.send("/ban 21", from: Self.admin)
            #expect(try await Self.message(1, to: Self.admin, telegram) == "21 is banned.")
            let banned = try await Self.chat(server, key: key)
            #expect(banned.status == 403)
            #expect(banned.message.contains("banned"))
            telegram.send("/key", from: 21)
            #expect(try await Self.message(2, to: 21, telegram).contains("banned"))

            telegram.send("/unban 21", from: Self.admin)
            telegram.send("/grant 21 tier2 10", from: Self.admin)
            #expect(try await Self.message(3, to: Self.admin, telegram).contains("Tier 2 until 2026-01-11 00:00 UTC"))
            for _ in 0..<3 { #expect(try await Self.chat(server, key: key).status == 200) }

            // A leave the bot never heard of: the periodic re-check finds it.
            telegram.setMemberQuietly(21, "left")
            #expect(try await Self.message(3, to: 21, telegram).contains("paused"))
            #expect(try await Self.chat(server, key: key).status == 403)
        }
    }

    @Test func theBotIntroducesItselfAndHealthSaysItRuns() async throws {
        try await Self.withBot { telegram, _, server in
            #expect(await eventually {
                (try? await LiveClient.get("\(server)/health").body.json["telegram_bot"]["state"].string) == "running"
            })
            let health = try await LiveClient.get("\(server)/health").body.json
            #expect(health["status"].string == "ok")
            #expect(health["telegram_bot"]["username"].string == "vc_test_bot")
            #expect(telegram.calls("getMe").count == 1)
            let menu = try #require(telegram.calls("setMyCommands").first?.parameters["commands"] as? [[String: Any]])
            #expect(menu.compactMap { $0["command"] as? String }.contains("key"))
            #expect(!menu.compactMap { $0["command"] as? String }.contains("refund"), "operator commands stay off the menu")
            #expect(try await LiveClient.get("\(server)/metrics").body.string.contains("visioncraft_telegram_bot_up 1"))
        }
    }

    @Test func aBotWithAWrongTokenShowsFailingAndKeepsTrying() async throws {
        let telegram = TelegramBotAPIDouble()
        try await telegram.run { url in
            // The double knows only its own token: every call with another is Telegram's 401.
            let environment = try await Self.environment(
                telegram: url, database: try SQLiteDatabase.inMemory(), token: "654321:not-this-bot")
            try await environment.live { server in
                #expect(await eventually { telegram.unauthorizedCalls >= 3 }, "it keeps trying, backing off")
                let health = try await LiveClient.get("\(server)/health")
                #expect(health.status == 200, "the API itself still serves")
                #expect(health.body.json["status"].string == "degraded")
                #expect(health.body.json["telegram_bot"]["state"].string == "failing")
                #expect(health.body.json["telegram_bot"]["error"].string?.contains("Unauthorized") == true)
                #expect(try await LiveClient.get("\(server)/metrics").body.string.contains("visioncraft_telegram_bot_up 0"))
            }
        }
    }

    @Test func backoffDoublesUpToItsCeilingAndStartsOverAfterASuccess() {
        var backoff = Backoff(initial: .seconds(1), maximum: .seconds(5))
        #expect((0..<5).map { _ in backoff.take() } == [.seconds(1), .seconds(2), .seconds(4), .seconds(5), .seconds(5)])
        backoff.reset()
        #expect(backoff.take() == .seconds(1))
    }

    @Test func aReplyStillWaitingWhenTheServerStopsIsSentOnceAfterTheRestart() async throws {
        let telegram = TelegramBotAPIDouble()
        let database = try SQLiteDatabase.inMemory()
        try await telegram.run { url in
            try await Self.environment(telegram: url, database: database).live(gracePeriod: .milliseconds(300)) { _ in
                // Telegram throttles the reply that carries the new key for far longer than the
                // shutdown's grace period (10,000 s; 100 s at the tests' backoff scale).
                telegram.fail(next: 1, status: 429, retryAfter: 10_000, method: "sendMessage")
                telegram.join(4)
                telegram.send("/key", from: 4)
                #expect(await eventually { telegram.calls("sendMessage").count == 1 })
            }
            #expect(telegram.messages(to: 4).isEmpty, "the throttled reply was not delivered before the stop")
            try await Self.environment(telegram: url, database: database).live { _ in
                let key = try Self.key(in: try await Self.message(1, to: 4, telegram))
                #expect(try await environmentKeyWorks(database: database, key: key))
                telegram.send("/help", from: 4)
                #expect(try await Self.message(2, to: 4, telegram).contains("/key"))
                #expect(telegram.messages(to: 4).count == 2, "the key's reply came once: \(telegram.messages(to: 4))")
            }
        }
    }

    /// Whether `key` authenticates against the keys in `database`.
    private func environmentKeyWorks(database: SQLiteDatabase, key: String) async throws -> Bool {
        (try? await KeyAuthenticator(repository: SQLiteKeyRepository(database: database)).authenticate(key)) != nil
    }

    @Test func aConfiguredBotWithoutItsSecretsIsAClearStartupError() throws {
        var settings = TelegramSettings(channel: "@c")
        #expect(throws: ConfigurationError.self) { try BotSettings.resolve(settings, environment: [:]) }
        do {
            _ = try BotSettings.resolve(settings, environment: [:])
        } catch {
            #expect("\(error)".contains("TELEGRAM_BOT_TOKEN"))
        }
        settings.mode = "webhook"
        settings.webhookUrl = "https://example.com/hook"
        #expect(throws: ConfigurationError.self) { try BotSettings.resolve(settings, environment: ["TELEGRAM_BOT_TOKEN": "t"]) }
        let resolved = try BotSettings.resolve(settings, environment: ["TELEGRAM_BOT_TOKEN": "t", "TELEGRAM_WEBHOOK_SECRET": "s"])
        #expect(resolved?.webhookPath == "/hook")
        #expect(try BotSettings.resolve(nil, environment: [:]) == nil)
    }

    @Test func aRestartLosesNothingAndRepeatsNothing() async throws {
        let telegram = TelegramBotAPIDouble()
        let database = try SQLiteDatabase.inMemory()
        try await telegram.run { url in
            try await Self.environment(telegram: url, database: database).live { _ in
                telegram.join(3)
                telegram.send("/key", from: 3)
                telegram.send("/help", from: 3)
                _ = try await Self.message(2, to: 3, telegram)
            }
            // While the server is down, more arrives.
            telegram.send("/limits", from: 3)
            telegram.send("/key", from: 3)
            let environment = try await Self.environment(telegram: url, database: database)
            try await environment.live { _ in
                #expect(try await Self.message(4, to: 3, telegram).contains("already have a key"))
                #expect(telegram.messages(to: 3)[2].contains("Tier 2"), "the /limits answer")
                // Updates are answered in order: once a later one's answer is in, every earlier
                // one's answers are too.
                telegram.send("/paysupport", from: 3)
                _ = try await Self.message(5, to: 3, telegram)
            }
            #expect(telegram.messages(to: 3).count == 5, "each update answered exactly once")
            #expect(try await environment.services.keys.list().count == 1)
        }
    }

    @Test func theBotRidesOutAnOutageWhileTheAPIKeepsServing() async throws {
        let telegram = TelegramBotAPIDouble()
        try await telegram.run { url in
            let environment = try await Self.environment(telegram: url, database: try SQLiteDatabase.inMemory())
            let (key, _) = try await environment.mintKey(.tier2)
            telegram.fail(next: 6, status: 500)
            telegram.fail(next: 2, status: 429, retryAfter: 1)
            telegram.join(8)
            telegram.send("/key", from: 8)
            // A malformed update is skipped, not fatal.
            telegram.enqueueRaw(["message": ["text": 5]])
            telegram.send("/help", from: 8)
            try await environment.live { server in
                #expect(try await Self.chat(server, key: key).status == 200, "the API does not wait for Telegram")
                _ = try Self.key(in: try await Self.message(1, to: 8, telegram))
                #expect(try await Self.message(2, to: 8, telegram).contains("/premium"))
            }
            #expect(telegram.calls.count > 8, "the failed calls were retried")
        }
    }

    @Test func webhookUpdatesNeedTheSecretToken() async throws {
        let telegram = TelegramBotAPIDouble()
        try await telegram.run { url in
            let environment = try await Self.environment(telegram: url, database: try SQLiteDatabase.inMemory(), webhook: true)
            try await environment.live { (server: String) async throws -> Void in
                #expect(await eventually { telegram.calls("setWebhook").count == 1 })
                #expect(telegram.calls("setWebhook").first?.parameters["secret_token"] as? String == "s3cret")
                let update = #"{"update_id": 1, "message": {"message_id": 1, "date": 0, "text": "/help", "from": {"id": 11}, "chat": {"id": 11, "type": "private"}}}"#
                var request = HTTPClientRequest(url: "\(server)/telegram/hook")
                request.method = .POST
                request.body = .bytes(ByteBuffer(string: update))
                #expect(try await LiveClient.shared.execute(request, timeout: .seconds(5)).status == .unauthorized)
                request.headers.add(name: "X-Telegram-Bot-Api-Secret-Token", value: "s3cret")
                #expect(try await LiveClient.shared.execute(request, timeout: .seconds(5)).status == .ok)
                #expect(try await Self.message(1, to: 11, telegram).contains("/key"))
                // Telegram delivering the same update again changes nothing: the next update's
                // answer is the second message.
                #expect(try await LiveClient.shared.execute(request, timeout: .seconds(5)).status == .ok)
                let next = #"{"update_id": 2, "message": {"message_id": 2, "date": 0, "text": "/limits", "from": {"id": 11}, "chat": {"id": 11, "type": "private"}}}"#
                request.body = .bytes(ByteBuffer(string: next))
                #expect(try await LiveClient.shared.execute(request, timeout: .seconds(5)).status == .ok)
                #expect(try await Self.message(2, to: 11, telegram).contains("Tier 2"), "the /limits answer, not /help again")
                #expect(telegram.messages(to: 11).count == 2)
            }
            #expect(telegram.calls("getUpdates").isEmpty)
        }
    }
}
