import NIOConcurrencyHelpers

/// How the operator's bot is doing, shown by `/health` and the `visioncraft_telegram_bot_up`
/// metric: a bot with a wrong token or a banned server must not look healthy.
public final class BotStatus: Sendable {
    public enum State: Sendable, Equatable {
        /// Not yet known to Telegram (the first `getMe` has not answered).
        case starting
        /// Another replica runs the bot; this one takes over if that one goes.
        case standby
        case running(username: String)
        /// Telegram refuses the bot, or cannot be reached; the bot keeps trying.
        case failing(reason: String)
    }

    private let state = NIOLockedValueBox(State.starting)
    private let metrics: ServerMetrics

    init(metrics: ServerMetrics) {
        self.metrics = metrics
        metrics.botUp(false)
    }

    public var current: State { state.withLockedValue { $0 } }

    func set(_ new: State) {
        state.withLockedValue { $0 = new }
        if case .running = new { metrics.botUp(true) } else { metrics.botUp(false) }
    }

    var isHealthy: Bool {
        switch current {
        case .running, .standby: true
        case .starting, .failing: false
        }
    }

    var json: JSONValue {
        switch current {
        case .starting: ["state": "starting"]
        case .standby: ["state": "standby"]
        case .running(let username): ["state": "running", "username": .string(username)]
        case .failing(let reason): ["state": "failing", "error": .string(reason)]
        }
    }
}
