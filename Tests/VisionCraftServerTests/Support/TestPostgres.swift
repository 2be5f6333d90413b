import Foundation
import Logging
import PostgresNIO
import Testing
@testable import VisionCraftServer

/// The throwaway PostgreSQL server `make test` starts (scripts/with-test-postgres.sh): each test
/// gets a database of its own on it.
enum TestPostgres {
    static let serverURL = ProcessInfo.processInfo.environment["VISIONCRAFT_TEST_POSTGRES_URL"]
    static var available: Bool { serverURL != nil }
    /// The tests' stores wait this long for the database before calling it away: the suites run
    /// side by side, and a busy test process can hold its few threads for seconds (the servers'
    /// 2 s is checked on real processes, in ReplicaProcessTests).
    static let deadline: Duration = .seconds(60)

    static var logger: Logger {
        var logger = Logger(label: "visioncraft-test-postgres")
        logger.logLevel = .critical
        return logger
    }

    /// A new empty database, its URL.
    static func freshDatabase() async throws -> PostgresURL {
        var url = try PostgresURL(serverURL!)
        let name = "vc_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try await PostgresStore(url: url, requestDeadline: deadline, logger: logger).using { admin in
            try await admin.client.query("CREATE DATABASE \(unescaped: name)")
        }
        url.database = name
        return url
    }
}

/// Which store a test runs on: SQLite always, PostgreSQL where the test server runs.
enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    static var available: [StoreKind] { TestPostgres.available ? [.sqlite, .postgres] : [.sqlite] }

    var testDescription: String { rawValue }

    /// `body` on a new, migrated, empty store of this kind.
    func with<Value: Sendable>(_ body: (Store) async throws -> Value) async throws -> Value {
        switch self {
        case .sqlite:
            return try await body(.sqlite(try SQLiteDatabase.inMemory()))
        case .postgres:
            return try await Store.using(
                .postgres(try await TestPostgres.freshDatabase()), requestDeadline: TestPostgres.deadline,
                logger: TestPostgres.logger, body)
        }
    }
}
