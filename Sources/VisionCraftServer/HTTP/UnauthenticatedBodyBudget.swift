import NIOConcurrencyHelpers

/// Bounds the body bytes held at once for requests whose key is still unknown: a key sent in the
/// body (`token`) can only be read after the body is, so without a bound anyone could make the
/// server hold any number of maximum-size bodies. Requests that bring their key in the
/// `Authorization` header are authenticated before their body is read and take nothing from here.
final class UnauthenticatedBodyBudget: Sendable {
    let capacity: Int
    private let used = NIOLockedValueBox(0)

    init(capacity: Int) {
        self.capacity = capacity
    }

    /// Takes `bytes` from the budget; false, taking nothing, when they do not fit.
    func reserve(_ bytes: Int) -> Bool {
        used.withLockedValue { used in
            guard used + bytes <= capacity else { return false }
            used += bytes
            return true
        }
    }

    func release(_ bytes: Int) {
        used.withLockedValue { $0 -= bytes }
    }

    var bytesInUse: Int { used.withLockedValue { $0 } }

    /// What one request holds of the budget.
    struct Reservation {
        let budget: UnauthenticatedBodyBudget
        private(set) var bytes = 0

        init(budget: UnauthenticatedBodyBudget) {
            self.budget = budget
        }

        /// Holds at least `total` bytes, taking what is missing from the budget; false, taking
        /// nothing more, when that does not fit.
        mutating func cover(_ total: Int) -> Bool {
            guard total > bytes else { return true }
            guard budget.reserve(total - bytes) else { return false }
            bytes = total
            return true
        }

        mutating func release() {
            budget.release(bytes)
            bytes = 0
        }
    }
}
