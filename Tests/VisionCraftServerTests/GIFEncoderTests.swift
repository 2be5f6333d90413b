import Foundation
import MediaCodecs
import Testing

/// The GIF encoder on its own, read back by Pillow (an independent decoder, in the test suite's
/// Python client): every frame as the encoder meant to show it, the delays, the looping, the size;
/// the shown frames close to the input; the file no larger than Pillow's own encoding of the same
/// frames with the same palette.
struct GIFEncoderTests {
    /// An animation of the kind the engine makes: a still gradient background and a shaded disc
    /// that moves across it.
    static func frames(width: Int, height: Int, count: Int) -> [[UInt8]] {
        (0..<count).map { t in
            var rgb = [UInt8](repeating: 0, count: width * height * 3)
            let (cx, cy, radius) = (width / 4 + t * width / (2 * count), height / 2, width / 6)
            for y in 0..<height {
                for x in 0..<width {
                    let p = 3 * (y * width + x)
                    let (dx, dy) = (x - cx, y - cy)
                    if dx * dx + dy * dy < radius * radius {
                        let shade = 255 - (dx * dx + dy * dy) * 160 / (radius * radius)
                        rgb[p] = UInt8(shade)
                        rgb[p + 1] = UInt8(shade * 3 / 5)
                        rgb[p + 2] = UInt8(40 + t * 4)
                    } else {
                        rgb[p] = UInt8(x * 200 / width)
                        rgb[p + 1] = UInt8(60 + y * 150 / height)
                        rgb[p + 2] = UInt8(180 - (x + y) * 90 / (width + height))
                    }
                }
            }
            return rgb
        }
    }

    struct Report: Decodable {
        let frames: Int
        let width: Int
        let height: Int
        let durations: [Int]
        let loop: Int?
        let mismatchedPixels: Int
        let paletteColors: Int
        let pillowBytes: Int
    }

    @Test func pillowReadsBackEveryFrameDelayAndTheLoop() async throws {
        let (width, height, count, fps) = (256, 256, 16, 8)
        let input = Self.frames(width: width, height: height, count: count)
        let gif = GIFEncoder.encode(width: width, height: height, frames: input, fps: fps)
        let shown = GIFEncoder.shownFrames(width: width, height: height, frames: input)
        #expect(GIFEncoder.encode(width: width, height: height, frames: input, fps: fps) == gif, "the same bytes every time")

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vc-gif-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let gifURL = directory.appendingPathComponent("a.gif"), shownURL = directory.appendingPathComponent("shown.rgb")
        try Data(gif).write(to: gifURL)
        try Data(shown.joined()).write(to: shownURL)
        let (status, output) = try await PythonScript.run("gif_check.py", arguments: [gifURL.path, shownURL.path])
        #expect(status == 0, "\(output)")
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        let report = try decoder.decode(Report.self, from: Data(output.utf8))
        #expect(report.frames == count && report.width == width && report.height == height)
        // 8 fps: 12.5 hundredths of a second, written as 13 (GIF's unit): 130 ms.
        #expect(report.durations == Array(repeating: 130, count: count))
        #expect(report.loop == 0)
        #expect(report.mismatchedPixels == 0, "every composited frame is the one the encoder meant")
        #expect(report.paletteColors <= 255)
        #expect(gif.count <= report.pillowBytes, "\(gif.count) bytes against Pillow's \(report.pillowBytes)")

        // What is shown stays within the palette's and the dither's reach of the input.
        var total = 0, worst = 0
        for (a, b) in zip(input.joined(), shown.joined()) {
            let difference = abs(Int(a) - Int(b))
            total += difference
            worst = max(worst, difference)
        }
        #expect(Double(total) / Double(width * height * 3 * count) < 6, "mean error per channel")
        #expect(worst <= 40)
    }

    @Test func aStillAnimationCostsOneFrame() {
        let frame = Self.frames(width: 64, height: 48, count: 1)[0]
        let one = GIFEncoder.encode(width: 64, height: 48, frames: [frame], fps: 10)
        let many = GIFEncoder.encode(width: 64, height: 48, frames: Array(repeating: frame, count: 16), fps: 10)
        // Each repeated frame is a 1×1 transparent pixel with its delay: a few dozen bytes.
        #expect(many.count - one.count < 15 * 40)
    }
}
