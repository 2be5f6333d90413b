/// Frames mapped onto a palette with ordered (Bayer 8×8) dithering: a fixed threshold per pixel
/// position nudges each colour before its nearest palette entry is taken, so a still region gets
/// the same indices in every frame — animations flicker less than with error diffusion, and the
/// frames' differences stay small for the encoder. Nearest entries are looked up per 15-bit
/// colour cell, computed once per palette.
struct OrderedDither {
    let palette: [UInt8]
    private var nearest: [UInt8]
    /// How far the thresholds move a colour, per channel (about half a palette step).
    let spread: Int

    static let bayer: [Int] = {
        var matrix = [0]
        var size = 1
        while size < 8 {
            var next = [Int](repeating: 0, count: 4 * size * size)
            for y in 0..<size {
                for x in 0..<size {
                    let v = 4 * matrix[y * size + x]
                    next[y * 2 * size + x] = v
                    next[y * 2 * size + x + size] = v + 2
                    next[(y + size) * 2 * size + x] = v + 3
                    next[(y + size) * 2 * size + x + size] = v + 1
                }
            }
            matrix = next
            size *= 2
        }
        return matrix
    }()

    init(palette: [UInt8], spread: Int = 16) {
        self.palette = palette
        self.spread = spread
        let count = palette.count / 3
        nearest = [UInt8](repeating: 0, count: 1 << 15)
        for cell in 0..<(1 << 15) {
            let r = (cell >> 10) << 3 | 4, g = ((cell >> 5) & 31) << 3 | 4, b = (cell & 31) << 3 | 4
            var best = 0, bestDistance = Int.max
            for i in 0..<count {
                let dr = r - Int(palette[3 * i]), dg = g - Int(palette[3 * i + 1]), db = b - Int(palette[3 * i + 2])
                let distance = dr * dr + dg * dg + db * db
                if distance < bestDistance { (best, bestDistance) = (i, distance) }
            }
            nearest[cell] = UInt8(best)
        }
    }

    /// The palette index of every pixel of one `width`-wide RGB frame.
    func indices(_ rgb: [UInt8], width: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: rgb.count / 3)
        for p in out.indices {
            let (x, y) = (p % width, p / width)
            let offset = (Self.bayer[(y & 7) * 8 + (x & 7)] * 2 - 63) * spread / 128
            func channel(_ c: Int) -> Int { min(255, max(0, Int(rgb[3 * p + c]) + offset)) }
            out[p] = nearest[MedianCut.cell(channel(0), channel(1), channel(2))]
        }
        return out
    }
}
