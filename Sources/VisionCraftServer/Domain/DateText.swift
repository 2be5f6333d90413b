import Foundation

/// Dates as operators type them (the CLI, the console): a day `2026-12-31` (its start, UTC) or
/// ISO 8601 `2026-12-31T12:00:00Z`.
public enum DateText {
    public static func parse(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        return try? Date(text + "T00:00:00Z", strategy: .iso8601)
    }
}
