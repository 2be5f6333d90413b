/// Which frames each UNet pass sees when an animation is longer than its motion module's
/// context: overlapping windows of `length` frames, each starting `length − overlap` frames after
/// the one before, the last moved back so that it ends at the last frame — the sliding windows of
/// AnimateDiff's long-video inference. Every frame's prediction is the mean of its windows'.
public struct ContextWindows: Equatable, Sendable {
    public let windows: [Range<Int>]

    public init(frames: Int, length: Int, overlap: Int) {
        guard frames > length else {
            windows = [0..<frames]
            return
        }
        precondition(overlap >= 0 && overlap < length, "windows need a length above their overlap")
        var windows: [Range<Int>] = []
        var start = 0
        while start + length < frames {
            windows.append(start..<(start + length))
            start += length - overlap
        }
        windows.append((frames - length)..<frames)
        self.windows = windows
    }

    /// How many windows hold each frame.
    public func counts(frames: Int) -> [Int] {
        var counts = [Int](repeating: 0, count: frames)
        for window in windows {
            for f in window { counts[f] += 1 }
        }
        return counts
    }
}
