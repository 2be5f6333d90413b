import ArgumentParser
import Foundation
import Logging
import VisionCraftServer

struct DatabaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db", abstract: "Migrate the database, or move a SQLite installation to PostgreSQL.",
        subcommands: [Migrate.self, Copy.self])

    struct Migrate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Bring the database's schema up to this version (serve does it too, at start).")
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let location = try storage.location()
            try await storage.using { _ in }
            print("Migrated \(location.redacted).")
        }
    }

    struct Copy: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Copy this installation's SQLite database (keys, usage, bot accounts, payments, bot state) into an empty PostgreSQL database.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "The PostgreSQL database to fill: postgres://user:password@host:5432/db") var to: String

        func run() async throws {
            guard case .sqlite(let path) = try storage.location() else {
                throw ValidationError("db copy reads a SQLite installation; leave --database out (or name sqlite:PATH)")
            }
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("No database at \(path).") }
            let target = try DatabaseLocation.resolve(url: to, dataDirectory: storage.dataDir)
            guard case .postgres = target else { throw ValidationError("--to must be a postgres:// URL") }
            let source = try SQLiteDatabase.open(path: path)
            let copied = try await Store.using(target, logger: Logger(label: "visioncraft")) { store in
                try await StoreCopy.copy(from: source, to: store.shared!)
            }
            for (table, rows) in copied { print("\(table)\t\(rows)") }
            print("Copied \(path) to \(target.redacted).")
        }
    }
}
