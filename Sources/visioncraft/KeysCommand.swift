import ArgumentParser
import Foundation
import VisionCraftServer

struct KeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keys", abstract: "Mint, list and manage API keys.",
        subcommands: [Create.self, List.self, Revoke.self, SetTier.self, Deactivate.self, Activate.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Mint a key and print it (alone) on stdout.")
        @OptionGroup var storage: StorageOptions
        @Option(help: "free, tier1 or tier2.") var tier: Tier = .free
        @Option(help: "A note for operators, such as who the key is for.") var label: String?
        @Option(help: "When the tier ends (YYYY-MM-DD or ISO 8601); then the key is Free.") var until: String?

        func run() async throws {
            let end = try until.map(parseDate)
            let minted = try await storage.using { store in
                try await store.keys.create(tier: tier, tierUntil: end, label: label, now: Date())
            }
            print(minted.plainText)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys (prefixes only; keys are not stored).")
        @OptionGroup var storage: StorageOptions

        func run() async throws {
            let keys = try await storage.using { store in try await store.keys.list() }
            print(["ID", "PREFIX", "TIER", "UNTIL", "STATE", "LABEL"].joined(separator: "\t"))
            for key in keys {
                let state = key.revokedAt != nil ? "revoked" : key.isActive ? "active" : "deactivated"
                print([String(key.id), key.prefix, key.tier.rawValue, key.tierUntil.map(formatDate) ?? "-", state,
                       key.label ?? ""].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key for good.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The key's id, prefix or full text.") var key: String

        func run() async throws {
            let record = try await storage.using { store in
                let record = try await resolve(key, in: store.keys)
                try await store.keys.revoke(id: record.id, now: Date())
                return record
            }
            print("Revoked key \(record.id) (\(record.prefix)…).")
        }
    }

    struct SetTier: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "set-tier", abstract: "Change a key's tier.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The key's id, prefix or full text.") var key: String
        @Option(help: "free, tier1 or tier2.") var tier: Tier
        @Option(help: "When the tier ends (YYYY-MM-DD or ISO 8601); then the key is Free.") var until: String?

        func run() async throws {
            let end = try until.map(parseDate)
            let record = try await storage.using { store in
                let record = try await resolve(key, in: store.keys)
                try await store.keys.setTier(id: record.id, tier: tier, until: end)
                return record
            }
            print("Key \(record.id) is now \(tier.rawValue)\(end.map { " until \(formatDate($0))" } ?? "").")
        }
    }

    struct Deactivate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Suspend a key; requests get 403 with the reason.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The key's id, prefix or full text.") var key: String
        @Option(help: "Shown to the key's user in the 403 message.") var reason: String = "it was deactivated by the operator."

        func run() async throws {
            let record = try await storage.using { store in
                let record = try await resolve(key, in: store.keys)
                try await store.keys.setActive(id: record.id, active: false, reason: reason)
                return record
            }
            print("Deactivated key \(record.id).")
        }
    }

    struct Activate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reactivate a suspended key.")
        @OptionGroup var storage: StorageOptions
        @Argument(help: "The key's id, prefix or full text.") var key: String

        func run() async throws {
            let record = try await storage.using { store in
                let record = try await resolve(key, in: store.keys)
                try await store.keys.setActive(id: record.id, active: true, reason: nil)
                return record
            }
            print("Activated key \(record.id).")
        }
    }
}

extension Tier: ExpressibleByArgument {}

func resolve(_ reference: String, in repository: any KeyRepository) async throws -> APIKeyRecord {
    guard let record = try await repository.resolve(reference) else {
        throw ValidationError("No single key matches '\(reference)'. Use its id from 'visioncraft keys list'.")
    }
    return record
}

func parseDate(_ text: String) throws -> Date {
    if let date = DateText.parse(text) { return date }
    throw ValidationError("'\(text)' is not a date; use YYYY-MM-DD or ISO 8601 such as 2026-12-31T12:00:00Z.")
}

func formatDate(_ date: Date) -> String {
    date.formatted(.iso8601)
}
