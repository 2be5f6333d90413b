import DiffusionEngine
import Foundation
import LLMEngine
import MediaCodecs
import Testing
@testable import VisionCraftServer

/// `/text2gif` animated in-process: the tiny AnimateDiff motion module dropped into `models/motion`
/// beside the tiny SD 1.x checkpoint is served as a GIF model under its file name, and answers
/// the GIF the engine and the encoder make for the same settings, which Pillow reads back.
@Suite(.serialized) struct EmbeddedGIFTests {
    static let root = EmbeddedImageTests.root
    static let motionFile = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/animatediff-tiny/motion.safetensors").path

    /// A models folder with the checkpoint and, when `motion`, the motion module.
    static func modelsDirectory(motion: Bool) throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("visioncraft-gif-\(UUID().uuidString)")
        for folder in ["sd", "clip", "motion"] {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(folder), withIntermediateDirectories: true)
        }
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("sd/tiny-sd1.safetensors").path, withDestinationPath: EmbeddedImageTests.fixture)
        try FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("clip/bpe_simple_vocab_16e6.txt").path,
            withDestinationPath: EmbeddedImageTests.vocabulary)
        if motion {
            try FileManager.default.createSymbolicLink(
                atPath: directory.appendingPathComponent("motion/tiny-motion.safetensors").path, withDestinationPath: motionFile)
        }
        return directory.path
    }

    static func environment(motion: Bool) async throws -> TestEnvironment {
        var configuration = ServerConfiguration()
        var server = ServerConfiguration.ServerSection()
        server.imageThreads = 1
        server.imagePrecision = .float32
        configuration.server = server
        return try await TestEnvironment.make(configuration: configuration, modelsDirectory: try modelsDirectory(motion: motion))
    }

    @Test func aMotionModuleIsAGIFModelThatAnswersTheEnginesGIF() async throws {
        let environment = try await Self.environment(motion: true)
        let (key, _) = try await environment.mintKey(.tier2)
        let model = EmbeddedImageTests.model
        let motion = try MotionModule(path: Self.motionFile, for: model.unet)
        let request = ImageRequest(prompt: "a fox running", negativePrompt: "blurry", width: 96, height: 64, steps: 2,
                                   guidance: 7, sampler: .euler, seed: 21)
        let frames = try await offThePool { try model.animate(request, frames: 6, motion: motion, pool: EmbeddedImageTests.pool) }
        let pictures = frames.map(\.pixels)
        let expected = GIFEncoder.encode(width: 96, height: 64, frames: pictures, fps: 12)
        try await environment.live { server in
            #expect(try await LiveClient.get("\(server)/text2gif/models").body.json.strings == ["tiny-motion"])
            let detail = try await LiveClient.get("\(server)/text2gif/models/tiny-motion")
            #expect(detail.body.json["defaults"]["width"].int == 256)
            #expect(detail.body.json["defaults"]["frames"].int == 16)
            #expect(detail.body.json["defaults"]["fps"].int == 8)
            let response = try await LiveClient.post("\(server)/text2gif", json: body([
                "prompt": "a fox running", "negative_prompt": "blurry", "width": 96, "height": 64, "steps": 2,
                "sampler": "Euler", "frames": 6, "fps": 12, "seed": 21,
            ]), key: key)
            #expect(response.status == 200, "\(response.body.string)")
            #expect(response.headers.first(name: "Content-Type") == "image/gif")
            #expect(response.headers.first(name: "X-Seed") == "21")
            let gif = Array(response.body.readableBytesView)
            let same = gif == expected
            #expect(same, "the engine's GIF, byte for byte (\(gif.count) against \(expected.count) bytes)")

            // An independent decoder sees the frames, size and delays asked for.
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vc-gif-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            try Data(gif).write(to: directory.appendingPathComponent("a.gif"))
            try Data(GIFEncoder.shownFrames(width: 96, height: 64, frames: pictures).joined())
                .write(to: directory.appendingPathComponent("shown.rgb"))
            let (status, output) = try await PythonScript.run(
                "gif_check.py", arguments: [directory.appendingPathComponent("a.gif").path, directory.appendingPathComponent("shown.rgb").path])
            #expect(status == 0, "\(output)")
            let decoder = JSONDecoder()
            decoder.keyDecodingStrategy = .convertFromSnakeCase
            let report = try decoder.decode(GIFEncoderTests.Report.self, from: Data(output.utf8))
            #expect(report.frames == 6 && report.width == 96 && report.height == 64 && report.mismatchedPixels == 0)
            #expect(report.durations == Array(repeating: 80, count: 6), "12 fps: 8 hundredths of a second")

            // More frames than the API allows is a clear 400.
            let tooMany = try await LiveClient.post("\(server)/text2gif", json: body(["prompt": "x", "frames": 65]), key: key)
            #expect(tooMany.status == 400, "\(tooMany.body.string)")
        }
    }

    @Test func withoutAMotionModuleText2gifSaysWhatIsMissing() async throws {
        let environment = try await Self.environment(motion: false)
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            let response = try await LiveClient.post("\(server)/text2gif", json: body(["prompt": "a cat"]), key: key)
            #expect(response.status == 400)
            #expect(response.body.json["error"]["message"].string?.contains("models/motion") == true)
            #expect(response.body.json["error"]["code"].string == "model_not_found")
        }
    }
}
