import Foundation
import NIOConcurrencyHelpers

/// The time as the domain sees it. Tests move it by hand to cross rate windows and days.
public struct WallClock: Sendable {
    public let now: @Sendable () -> Date

    public init(now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    public static let system = WallClock { Date() }
}

/// A clock that only moves when told to.
public final class ManualClock: Sendable {
    private let current: NIOLockedValueBox<Date>

    public init(_ start: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        current = NIOLockedValueBox(start)
    }

    public var wallClock: WallClock { WallClock { self.current.withLockedValue { $0 } } }

    public func advance(by seconds: Double) {
        current.withLockedValue { $0 = $0.addingTimeInterval(seconds) }
    }

    public func set(_ date: Date) {
        current.withLockedValue { $0 = date }
    }
}
