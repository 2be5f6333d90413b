import Foundation
import Logging

/// An open database of either kind and the repositories over it: what `serve` and every CLI
/// command work on, whichever store the operator chose.
public enum Store: Sendable {
    case sqlite(SQLiteDatabase)
    case postgres(PostgresStore)

    public var keys: any KeyRepository {
        switch self {
        case .sqlite(let database): SQLiteKeyRepository(database: database)
        case .postgres(let store): PostgresKeyRepository(store: store)
        }
    }

    public var usage: any UsageRepository {
        switch self {
        case .sqlite(let database): SQLiteUsageRepository(database: database)
        case .postgres(let store): PostgresUsageRepository(store: store)
        }
    }

    /// The Telegram bot's state.
    public var bot: any BotStore {
        switch self {
        case .sqlite(let database): SQLiteBotStore(database: database)
        case .postgres(let store): PostgresBotStore(store: store)
        }
    }

    /// The shared database, when replicas share one.
    public var shared: PostgresStore? {
        if case .postgres(let store) = self { store } else { nil }
    }

    /// Opens and migrates the store at `location` and runs `body` with it; a PostgreSQL pool runs
    /// for exactly that long.
    /// `connections`: the PostgreSQL pool's size (one is the key-change listener's, one the bot
    /// leader's; fewer than 16 kept tail latency lower on two cores, docs/benchmarks.md).
    public static func using<Value: Sendable>(
        _ location: DatabaseLocation, connections: Int = 8, requestDeadline: Duration = .seconds(2), logger: Logger,
        _ body: (Store) async throws -> Value
    ) async throws -> Value {
        switch location {
        case .sqlite(let path):
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            return try await body(.sqlite(try SQLiteDatabase.open(path: path)))
        case .postgres(let url):
            return try await PostgresStore(
                url: url, maximumConnections: max(3, connections), requestDeadline: requestDeadline, logger: logger).using { store in
                do {
                    try await store.storageCall(deadline: .seconds(30)) { try await PostgresMigrator.migrate(store) }
                } catch let error as APIError where error == .storageUnavailable {
                    throw ConfigurationError("database: PostgreSQL at \(url.redacted) cannot be reached")
                }
                return try await body(.postgres(store))
            }
        }
    }
}
