import Foundation

/// The `telegram` section of the configuration: the bot that hands out keys and sells tiers.
public struct TelegramSettings: Codable, Sendable, Equatable {
    /// The environment variable holding the bot's token (from @BotFather).
    public var botTokenEnv: String?
    /// The channel users must be members of: "@name" or its numeric id.
    public var channel: String
    /// Telegram's Bot API, or a local stand-in.
    public var apiBaseUrl: String?
    /// "polling" (default) or "webhook".
    public var mode: String?
    /// For webhook mode: the public HTTPS URL Telegram posts updates to; its path is served here.
    public var webhookUrl: String?
    /// The environment variable holding the webhook's secret token.
    public var webhookSecretEnv: String?
    /// Telegram user ids allowed the operator commands.
    public var adminIds: [Int64]?
    public var tier1Stars: Int?
    public var tier2Stars: Int?
    public var premiumDays: Int?
    public var trialHours: Int?
    /// How often `/trial` may be claimed.
    public var trialPeriodDays: Int?
    /// How often every key holder's channel membership is re-checked, for leaves the bot missed.
    public var membershipCheckMinutes: Double?
    public var pollTimeoutSeconds: Int?
    /// What `/paysupport` answers.
    public var supportText: String?

    public init(channel: String) {
        self.channel = channel
    }
}

/// The bot's settings with every default filled in and its secrets read from the environment.
public struct BotSettings: Sendable {
    public var token: String
    public var channel: String
    public var apiBaseURL: String
    public var webhookURL: String?
    public var webhookSecret: String?
    public var adminIDs: Set<Int64>
    public var prices: [Tier: Int]
    public var premiumDays: Int
    public var trialHours: Int
    public var trialPeriodDays: Int
    public var membershipCheck: Duration
    public var pollTimeoutSeconds: Int
    public var supportText: String

    public var usesWebhook: Bool { webhookURL != nil }
    /// The path of our server that Telegram posts to in webhook mode.
    public var webhookPath: String? { webhookURL.flatMap { URL(string: $0)?.path }.map { $0.isEmpty ? "/" : $0 } }

    /// Nil when the section is absent; an error when it is present but cannot work.
    public static func resolve(_ section: TelegramSettings?, environment: [String: String]) throws -> BotSettings? {
        guard let section else { return nil }
        let tokenVariable = section.botTokenEnv ?? "TELEGRAM_BOT_TOKEN"
        guard let token = environment[tokenVariable], !token.isEmpty else {
            throw ConfigurationError("telegram: the bot token is not set; put it in $\(tokenVariable)")
        }
        let webhook = section.mode == "webhook"
        guard section.mode == nil || webhook || section.mode == "polling" else {
            throw ConfigurationError("telegram.mode must be \"polling\" or \"webhook\"")
        }
        var secret: String?
        if webhook {
            guard let url = section.webhookUrl, URL(string: url)?.scheme != nil else {
                throw ConfigurationError("telegram.webhook_url is required in webhook mode")
            }
            _ = url
            let secretVariable = section.webhookSecretEnv ?? "TELEGRAM_WEBHOOK_SECRET"
            guard let value = environment[secretVariable], !value.isEmpty else {
                throw ConfigurationError("telegram: webhook mode needs a secret token in $\(secretVariable)")
            }
            secret = value
        }
        return BotSettings(
            token: token, channel: section.channel, apiBaseURL: section.apiBaseUrl ?? "https://api.telegram.org",
            webhookURL: webhook ? section.webhookUrl : nil, webhookSecret: secret, adminIDs: Set(section.adminIds ?? []),
            prices: [.tier1: section.tier1Stars ?? 500, .tier2: section.tier2Stars ?? 1000],
            premiumDays: section.premiumDays ?? 30, trialHours: section.trialHours ?? 24,
            trialPeriodDays: section.trialPeriodDays ?? 7,
            membershipCheck: .milliseconds(Int(60_000 * (section.membershipCheckMinutes ?? 60))),
            pollTimeoutSeconds: section.pollTimeoutSeconds ?? 30,
            supportText: section.supportText ?? "For help with a payment, write to the operator of this bot.")
    }
}
