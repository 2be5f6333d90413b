/// GIF's variable-length LZW: codes from 9 to 12 bits packed least significant bit first, a clear
/// code first and whenever the 4,096-entry table fills, the end code last — the code width grows
/// exactly when a decoder's does (after the entry that reaches the next power of two).
enum LZW {
    /// The compressed bytes of `indices` (each below 256), for a minimum code size of 8.
    static func compress(_ indices: [UInt8]) -> [UInt8] {
        let clear = 256, end = 257, limit = 4096
        var writer = BitWriter()
        // prefix code × 256 + next index → code, valid where `generation` matches the current one.
        var codes = [UInt16](repeating: 0, count: limit * 256)
        var generations = [UInt32](repeating: 0, count: limit * 256)
        var generation: UInt32 = 1
        var next = 258, width = 9
        writer.write(clear, width: width)
        guard var prefix = indices.first.map(Int.init) else {
            writer.write(end, width: width)
            return writer.finished
        }
        for index in indices.dropFirst() {
            let key = prefix << 8 | Int(index)
            if generations[key] == generation {
                prefix = Int(codes[key])
                continue
            }
            writer.write(prefix, width: width)
            if next >= 1 << width && width < 12 { width += 1 }
            if next < limit {
                codes[key] = UInt16(next)
                generations[key] = generation
                next += 1
            } else {
                writer.write(clear, width: width)
                generation += 1
                next = 258
                width = 9
            }
            prefix = Int(index)
        }
        writer.write(prefix, width: width)
        if next >= 1 << width && width < 12 { width += 1 }
        writer.write(end, width: width)
        return writer.finished
    }

    struct BitWriter {
        var bytes: [UInt8] = []
        private var pending = 0, count = 0

        mutating func write(_ code: Int, width: Int) {
            pending |= code << count
            count += width
            while count >= 8 {
                bytes.append(UInt8(pending & 0xFF))
                pending >>= 8
                count -= 8
            }
        }

        /// The bytes with the last partial byte flushed.
        var finished: [UInt8] { count > 0 ? bytes + [UInt8(pending & 0xFF)] : bytes }
    }
}
