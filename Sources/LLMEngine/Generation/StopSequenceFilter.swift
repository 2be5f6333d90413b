/// Holds back generated text that could still turn into a stop sequence, so a stop sequence split
/// across tokens is caught and never shown, and text that cannot be one is released at once.
public struct StopSequenceFilter: Sendable {
    public let stops: [String]
    private var pending = ""

    public init(stops: [String]) {
        self.stops = stops.filter { !$0.isEmpty }
    }

    /// What may be shown now, and whether a stop sequence was reached (the text before it is in
    /// `release`).
    public mutating func append(_ text: String) -> (release: String, stopped: Bool) {
        pending += text
        guard !stops.isEmpty else {
            defer { pending = "" }
            return (pending, false)
        }
        if let range = stops.compactMap({ pending.range(of: $0) }).min(by: { $0.lowerBound < $1.lowerBound }) {
            let release = String(pending[..<range.lowerBound])
            pending = ""
            return (release, true)
        }
        // Keep the longest tail that is a prefix of some stop sequence.
        var keep = 0
        for stop in stops {
            for length in stride(from: min(stop.count - 1, pending.count), to: 0, by: -1)
            where pending.hasSuffix(stop.prefix(length)) {
                keep = max(keep, length)
                break
            }
        }
        let release = String(pending.dropLast(keep))
        pending = String(pending.suffix(keep))
        return (release, false)
    }

    /// Whatever was held back when generation ends for another reason.
    public mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }
}
