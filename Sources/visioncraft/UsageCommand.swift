import ArgumentParser
import Foundation
import VisionCraftServer

struct UsageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "usage", abstract: "Summarise recorded usage per key and category.")

    @OptionGroup var storage: StorageOptions
    @Option(help: "Only this key (id, prefix or full text).") var key: String?
    @Option(help: "Only requests since this date (YYYY-MM-DD or ISO 8601).") var since: String?

    func run() async throws {
        let database = try storage.openDatabase()
        var keyID: Int64?
        if let key {
            keyID = try await resolve(key, in: SQLiteKeyRepository(database: database)).id
        }
        let rows = try await SQLiteUsageRepository(database: database).summary(
            keyID: keyID, since: try since.map(parseDate))
        print(["KEY", "PREFIX", "CATEGORY", "REQUESTS", "FAILED", "PROMPT_TOKENS", "COMPLETION_TOKENS", "AVG_MS"]
            .joined(separator: "\t"))
        for row in rows {
            let columns: [String] = [
                String(row.keyID), row.keyPrefix, row.category.rawValue, String(row.requests), String(row.failed),
                String(row.promptTokens), String(row.completionTokens), String(row.averageMilliseconds),
            ]
            print(columns.joined(separator: "\t"))
        }
    }
}
