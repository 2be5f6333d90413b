/// One palette for a whole animation by Heckbert's median cut: the colours of every frame counted
/// in a 15-bit histogram (5 bits a channel), the box of colours with the most pixels × widest
/// range split at its median along that channel until there are as many boxes as colours wanted,
/// each box's colour the pixel-weighted mean of its members. Integer arithmetic throughout, so the
/// same frames give the same palette on every machine.
struct MedianCut {
    /// RGB triples, at most `colors` of them.
    let palette: [UInt8]

    init(frames: [[UInt8]], colors: Int) {
        precondition(colors >= 1 && colors <= 256, "a GIF palette has 1 to 256 colours")
        var counts = [Int](repeating: 0, count: 1 << 15)
        var sums = [Int](repeating: 0, count: 3 << 15)
        for frame in frames {
            frame.withUnsafeBufferPointer { rgb in
                for p in stride(from: 0, to: rgb.count, by: 3) {
                    let (r, g, b) = (Int(rgb[p]), Int(rgb[p + 1]), Int(rgb[p + 2]))
                    let cell = Self.cell(r, g, b)
                    counts[cell] += 1
                    sums[cell * 3] += r
                    sums[cell * 3 + 1] += g
                    sums[cell * 3 + 2] += b
                }
            }
        }
        var boxes = [Box(cells: counts.indices.filter { counts[$0] > 0 }, counts: counts)]
        while boxes.count < colors {
            // The box whose split helps most: many pixels over a wide range.
            guard let index = boxes.indices.filter({ boxes[$0].cells.count > 1 })
                .max(by: { boxes[$0].priority < boxes[$1].priority || (boxes[$0].priority == boxes[$1].priority && $0 > $1) })
            else { break }
            let (low, high) = boxes[index].split(counts: counts)
            boxes[index] = low
            boxes.append(high)
        }
        var palette: [UInt8] = []
        for box in boxes {
            var total = 0, r = 0, g = 0, b = 0
            for cell in box.cells {
                total += counts[cell]
                r += sums[cell * 3]
                g += sums[cell * 3 + 1]
                b += sums[cell * 3 + 2]
            }
            palette += [r, g, b].map { UInt8(($0 + total / 2) / total) }
        }
        self.palette = palette
    }

    /// The histogram cell of a colour: its top five bits per channel.
    static func cell(_ r: Int, _ g: Int, _ b: Int) -> Int { (r >> 3) << 10 | (g >> 3) << 5 | b >> 3 }

    struct Box {
        var cells: [Int]
        var pixels = 0
        var ranges = [0, 0, 0]

        init(cells: [Int], counts: [Int]) {
            self.cells = cells
            var low = [31, 31, 31], high = [0, 0, 0]
            for cell in cells {
                pixels += counts[cell]
                for channel in 0..<3 {
                    let value = Box.value(cell, channel)
                    low[channel] = min(low[channel], value)
                    high[channel] = max(high[channel], value)
                }
            }
            ranges = (0..<3).map { high[$0] - low[$0] }
        }

        var priority: Int { pixels * (ranges.max()! + 1) }

        static func value(_ cell: Int, _ channel: Int) -> Int { (cell >> (10 - 5 * channel)) & 31 }

        /// The two halves at the pixel median along the widest channel (ties: red, green, blue).
        func split(counts: [Int]) -> (Box, Box) {
            let channel = ranges.firstIndex(of: ranges.max()!)!
            let sorted = cells.sorted { (Box.value($0, channel), $0) < (Box.value($1, channel), $1) }
            var seen = 0, cut = 1
            for (i, cell) in sorted.enumerated() {
                seen += counts[cell]
                if seen * 2 >= pixels { cut = i + 1; break }
            }
            cut = min(max(cut, 1), sorted.count - 1)
            return (Box(cells: Array(sorted[..<cut]), counts: counts), Box(cells: Array(sorted[cut...]), counts: counts))
        }
    }
}
