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
        let start = try since.map(parseDate)
        let rows = try await storage.using { store in
            let keyID = try await key.asyncMap { try await resolve($0, in: store.keys).id }
            return try await store.usage.summary(keyID: keyID, since: start)
        }
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
