/// Writes RGB frames as an animated GIF89a: one global palette for the whole animation (median
/// cut over every frame, `MedianCut`), ordered dithering (`OrderedDither`), each frame after the
/// first reduced to the rectangle where it differs from the one shown before it with the unchanged
/// pixels inside made transparent (so a still background costs almost nothing), LZW (`LZW`), the
/// frame delay from the frame rate and the NETSCAPE2.0 looping extension. Integer arithmetic
/// throughout: the same frames give the same bytes on every machine.
public enum GIFEncoder {
    /// The index left for transparency; the palette has the other 255.
    static let transparent: UInt8 = 255

    /// `frames`: each `width × height` RGB triples, row by row. `fps`: frames per second (the delay
    /// is rounded to GIF's hundredths of a second). `loops`: 0 repeats for ever.
    public static func encode(width: Int, height: Int, frames: [[UInt8]], fps: Int, loops: Int = 0) -> [UInt8] {
        precondition(width > 0 && height > 0 && width <= 65535 && height <= 65535, "a GIF's sides are 1 to 65,535")
        precondition(!frames.isEmpty && frames.allSatisfy { $0.count == width * height * 3 }, "each frame must fill the image")
        precondition(fps > 0, "a frame rate is positive")
        let palette = MedianCut(frames: frames, colors: 255).palette
        let dither = OrderedDither(palette: palette)
        let indexed = frames.map { dither.indices($0, width: width) }
        return write(width: width, height: height, palette: palette, indexed: indexed,
                     delay: max(1, (100 + fps / 2) / fps), loops: loops)
    }

    /// What a decoder shows for each frame: the palette's colours at the indices written.
    public static func shownFrames(width: Int, height: Int, frames: [[UInt8]]) -> [[UInt8]] {
        let palette = MedianCut(frames: frames, colors: 255).palette
        let dither = OrderedDither(palette: palette)
        return frames.map { frame in
            dither.indices(frame, width: width).flatMap { palette[3 * Int($0)..<3 * Int($0) + 3] }
        }
    }

    static func write(width: Int, height: Int, palette: [UInt8], indexed: [[UInt8]], delay: Int, loops: Int) -> [UInt8] {
        var out = Array("GIF89a".utf8)
        out.appendLittleEndian(UInt16(width))
        out.appendLittleEndian(UInt16(height))
        out += [0xF7, 0, 0]  // a 256-entry global colour table, 8 bits of colour resolution
        out += palette + [UInt8](repeating: 0, count: 768 - palette.count)
        out += [0x21, 0xFF, 11] + Array("NETSCAPE2.0".utf8) + [3, 1]
        out.appendLittleEndian(UInt16(loops))
        out.append(0)
        var shown: [UInt8]?
        for frame in indexed {
            var region = (left: 0, top: 0, width: width, height: height)
            var pixels = frame
            if let previous = shown {
                region = changedRegion(previous, frame, width: width, height: height)
                pixels = []
                pixels.reserveCapacity(region.width * region.height)
                for y in region.top..<region.top + region.height {
                    for x in region.left..<region.left + region.width {
                        let p = y * width + x
                        pixels.append(frame[p] == previous[p] ? transparent : frame[p])
                    }
                }
            }
            shown = frame
            // Graphic control: leave the frame in place (disposal 1), the delay, the transparent index.
            out += [0x21, 0xF9, 4, 0b0000_0101]
            out.appendLittleEndian(UInt16(delay))
            out += [transparent, 0]
            out.append(0x2C)
            for value in [region.left, region.top, region.width, region.height] { out.appendLittleEndian(UInt16(value)) }
            out.append(0)  // no local colour table, not interlaced
            out.append(8)  // minimum code size
            let data = LZW.compress(pixels)
            for start in stride(from: 0, to: data.count, by: 255) {
                let block = data[start..<min(data.count, start + 255)]
                out.append(UInt8(block.count))
                out += block
            }
            out.append(0)
        }
        out.append(0x3B)
        return out
    }

    /// The smallest rectangle holding every pixel whose index differs between two frames (one
    /// pixel at the corner when none does: a frame must still be written for its delay).
    static func changedRegion(_ a: [UInt8], _ b: [UInt8], width: Int, height: Int) -> (left: Int, top: Int, width: Int, height: Int) {
        var (left, top, right, bottom) = (width, height, -1, -1)
        for y in 0..<height {
            for x in 0..<width where a[y * width + x] != b[y * width + x] {
                left = min(left, x)
                right = max(right, x)
                top = min(top, y)
                bottom = max(bottom, y)
            }
        }
        guard right >= 0 else { return (0, 0, 1, 1) }
        return (left, top, right - left + 1, bottom - top + 1)
    }
}

extension [UInt8] {
    mutating func appendLittleEndian(_ value: UInt16) {
        append(UInt8(value & 0xFF))
        append(UInt8(value >> 8))
    }
}
