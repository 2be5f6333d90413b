import Foundation
import GRDB

/// The embedded database: one SQLite file under the data directory, in WAL mode so readers never
/// wait for the usage writer.
public struct SQLiteDatabase: Sendable {
    public let writer: any DatabaseWriter

    /// Opens (creating if needed) and migrates the database at `path`.
    public static func open(path: String) throws -> SQLiteDatabase {
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        let pool = try DatabasePool(path: path, configuration: configuration)
        return try SQLiteDatabase(writer: pool)
    }

    /// A private in-memory database, for tests.
    public static func inMemory() throws -> SQLiteDatabase {
        try SQLiteDatabase(writer: DatabaseQueue())
    }

    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        for migration in SchemaMigrations.all {
            migrator.registerMigration(migration.name) { db in try db.execute(sql: migration.sql(.sqlite)) }
        }
        return migrator
    }
}
