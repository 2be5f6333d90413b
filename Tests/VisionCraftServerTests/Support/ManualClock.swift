import Foundation
import NIOConcurrencyHelpers
@testable import VisionCraftServer

/// A clock that only moves when told to.
final class ManualClock: Sendable {
    private let current: NIOLockedValueBox<Date>

    init(_ start: Date = Date(timeIntervalSince1970: 1_767_225_600)) {
        current = NIOLockedValueBox(start)
    }

    var wallClock: WallClock { WallClock { self.current.withLockedValue { $0 } } }

    func advance(by seconds: Double) {
        current.withLockedValue { $0 = $0.addingTimeInterval(seconds) }
    }

    func set(_ date: Date) {
        current.withLockedValue { $0 = date }
    }
}
