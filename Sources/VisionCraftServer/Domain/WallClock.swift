import Foundation

/// The time as the domain sees it. Tests move it by hand to cross rate windows and days.
public struct WallClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    public static let system = WallClock { Date() }
}
