import DiffusionEngine
import Foundation
import LLMEngine
import MediaCodecs
import Testing
@testable import VisionCraftServer

/// `/sd` served by the embedded diffusion engine, with the tiny SD 1.x fixture dropped into a
/// models folder: listed, its defaults shown and applied, every sampler answering the PNG the
/// engine draws for the same settings.
@Suite(.serialized) struct EmbeddedImageTests {
    static let name = "tiny-sd1"
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let fixture = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/sd1-tiny/model.safetensors").path
    static let vocabulary = root.appendingPathComponent("data/models/clip/bpe_simple_vocab_16e6.txt").path
    static let sd2Fixture = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/sd2-tiny/model.safetensors").path
    static let sdxlFixture = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/sdxl-tiny/model.safetensors").path
    static let lora = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/sd1-tiny/lora.safetensors").path
    static let taesd = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/sd1-tiny/taesd_decoder.safetensors").path
    /// The same weights as `fixture`, as a diffusers folder.
    static let folderFixture = root.appendingPathComponent("Tests/DiffusionEngineTests/Reference/sd1-tiny-diffusers").path

    /// A models folder holding only the fixture (as `sd/tiny-sd1.safetensors`) and the vocabulary.
    static let modelsDirectory: String = {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("visioncraft-sd-\(getpid())")
        try? FileManager.default.createDirectory(at: directory.appendingPathComponent("sd"), withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(at: directory.appendingPathComponent("clip"), withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(at: directory.appendingPathComponent("taesd"), withIntermediateDirectories: true)
        try? FileManager.default.createDirectory(at: directory.appendingPathComponent("loras"), withIntermediateDirectories: true)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("loras/tiny-lora.safetensors").path, withDestinationPath: lora)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("taesd/taesd_decoder.safetensors").path, withDestinationPath: taesd)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("sd/\(name).safetensors").path, withDestinationPath: fixture)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("sd/tiny-sd2.safetensors").path, withDestinationPath: sd2Fixture)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("sd/tiny-sdxl.safetensors").path, withDestinationPath: sdxlFixture)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("sd/tiny-sd1-diffusers").path, withDestinationPath: folderFixture)
        try? FileManager.default.createSymbolicLink(
            atPath: directory.appendingPathComponent("clip/bpe_simple_vocab_16e6.txt").path, withDestinationPath: vocabulary)
        // A pickled checkpoint is refused, never loaded.
        _ = FileManager.default.createFile(atPath: directory.appendingPathComponent("sd/old.ckpt").path, contents: Data([0x80, 0x02]))
        return directory.path
    }()

    static let model = try! StableDiffusionModel(checkpoint: fixture, vocabulary: vocabulary, fastDecoder: taesd)
    static let pool = ComputePool(threadCount: 1)

    static func environment(
        defaults: ImageDefaults? = nil, queue: Int? = nil, decoder: EmbeddedImageOptions.Decoder? = nil,
        precision: Precision? = .float32
    ) async throws -> TestEnvironment {
        var configuration = ServerConfiguration()
        var server = ServerConfiguration.ServerSection()
        // One engine thread per model: these suites run beside the others on two cores.
        server.imageThreads = 1
        server.imageQueue = queue
        server.imageDecoder = decoder
        // Exact products unless a test says otherwise, so each image can be compared with the
        // engine's reference model's bytes.
        server.imagePrecision = precision
        configuration.server = server
        if let defaults {
            configuration.imageModels = [.init(name: name, backends: [], defaults: defaults)]
        }
        return try await TestEnvironment.make(configuration: configuration, modelsDirectory: modelsDirectory)
    }

    /// The PNG the engine itself makes for these settings (with the exact model unless given one).
    static func expectedPNG(
        _ request: ImageRequest, cfg: Int, loraTags: String = "", model: StableDiffusionModel = model,
        named modelName: String = name
    ) async throws -> [UInt8] {
        let image = try await offThePool { try model.generate(request, pool: pool) }
        var text = [request.prompt + loraTags]
        if !request.negativePrompt.isEmpty { text.append("Negative prompt: \(request.negativePrompt)") }
        text.append("Steps: \(request.steps), Sampler: \(request.sampler.rawValue), CFG scale: \(cfg), Seed: \(request.seed), "
            + "Size: \(request.width)x\(request.height), Model: \(modelName)"
            + (request.clipSkip > 1 ? ", Clip skip: \(request.clipSkip)" : ""))
        return PNGEncoder.encode(width: image.width, height: image.height, rgb: image.pixels,
                                 text: [("parameters", text.joined(separator: "\n"))])
    }

    @Test func theCheckpointIsListedWithItsDefaultsAndSamplers() async throws {
        let environment = try await Self.environment()
        try await environment.live { server in
            #expect(try await LiveClient.get("\(server)/sd/models").body.json.strings == ["tiny-sd1-diffusers", Self.name, "tiny-sd2", "tiny-sdxl"])
            #expect(try await LiveClient.get("\(server)/sd/samplers").body.json.strings == ImageSampler.allCases.map(\.rawValue))
            #expect(try await LiveClient.get("\(server)/sd/loras").body.json.strings == ["tiny-lora"])
            let detail = try await LiveClient.get("\(server)/sd/models/\(Self.name)")
            #expect(detail.status == 200)
            #expect(detail.body.json["defaults"]["width"].int == 512)
            #expect(detail.body.json["defaults"]["steps"].int == 20)
            #expect(detail.body.json["defaults"]["sampler"].string == "Euler a")
            #expect(try await LiveClient.get("\(server)/sd/models/old").status == 404)
            // An SD 2.x v-model suggests its training size.
            let sd2 = try await LiveClient.get("\(server)/sd/models/tiny-sd2")
            #expect(sd2.body.json["defaults"]["width"].int == 768)
            // And SDXL its own.
            let sdxl = try await LiveClient.get("\(server)/sd/models/tiny-sdxl")
            #expect(sdxl.body.json["defaults"]["width"].int == 1024)
        }
    }

    /// Every sampler through one server (one model load), each answer the engine's own PNG.
    @Test func everySamplerAnswersTheEnginesPNG() async throws {
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        var expected: [ImageSampler: [UInt8]] = [:]
        for sampler in ImageSampler.allCases {
            expected[sampler] = try await Self.expectedPNG(
                ImageRequest(prompt: "a red fox in snow", negativePrompt: "blurry", width: 64, height: 96, steps: 3,
                             guidance: 5, sampler: sampler, seed: 1234), cfg: 5)
        }
        let answers = expected
        try await environment.live { server in
            for sampler in ImageSampler.allCases {
                let response = try await LiveClient.post("\(server)/sd", json: body([
                    "model": Self.name, "prompt": "a red fox in snow", "negative_prompt": "blurry", "width": 64,
                    "height": 96, "steps": 3, "cfg_scale": 5, "sampler": sampler.rawValue, "seed": 1234,
                ]), key: key)
                #expect(response.status == 200, "\(sampler): \(response.body.string)")
                #expect(response.headers.first(name: "content-type") == "image/png")
                #expect(response.headers.first(name: "X-Seed") == "1234")
                #expect(Array(response.body.readableBytesView) == answers[sampler], "\(sampler)")
            }
        }
        let records = try await environment.usageRecords()
        #expect(records.map(\.status) == Array(repeating: 200, count: ImageSampler.allCases.count))
        #expect(Set(records.map(\.model)) == [Self.name])
    }

    /// A server left to its default precision draws with BF16 products where the CPU has them: its
    /// PNG is the fast engine's, byte for byte, and (there) not the exact one's.
    @Test func theDefaultPrecisionIsTheFastEngines() async throws {
        let environment = try await Self.environment(precision: nil)
        let (key, _) = try await environment.mintKey(.tier2)
        let request = ImageRequest(prompt: "a red fox in snow", negativePrompt: "blurry", width: 64, height: 64, steps: 2,
                                   guidance: 5, sampler: .euler, seed: 77)
        let fastModel = try StableDiffusionModel(checkpoint: Self.fixture, vocabulary: Self.vocabulary,
                                                 fastDecoder: Self.taesd, precision: .fastest)
        let fast = try await Self.expectedPNG(request, cfg: 5, model: fastModel)
        let exact = try await Self.expectedPNG(request, cfg: 5)
        if Precision.fastest == .bfloat16 { #expect(fast != exact) }
        try await environment.live { server in
            let response = try await LiveClient.post("\(server)/sd", json: body([
                "model": Self.name, "prompt": "a red fox in snow", "negative_prompt": "blurry", "width": 64, "height": 64,
                "steps": 2, "cfg_scale": 5, "sampler": "Euler", "seed": 77,
            ]), key: key)
            #expect(response.status == 200, "\(response.body.string)")
            #expect(Array(response.body.readableBytesView) == fast)
        }
    }

    /// A diffusers folder in `models/sd/` is served under the folder's name and draws what the
    /// single file with the same weights draws.
    @Test func aDiffusersFolderIsServedUnderItsName() async throws {
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        let request = ImageRequest(prompt: "a red fox in snow", width: 64, height: 64, steps: 2, guidance: 5,
                                   sampler: .euler, seed: 5)
        let expected = try await Self.expectedPNG(request, cfg: 5, named: "tiny-sd1-diffusers")
        try await environment.live { server in
            let response = try await LiveClient.post("\(server)/sd", json: body([
                "model": "tiny-sd1-diffusers", "prompt": "a red fox in snow", "width": 64, "height": 64, "steps": 2,
                "cfg_scale": 5, "sampler": "Euler", "seed": 5,
            ]), key: key)
            #expect(response.status == 200, "\(response.body.string)")
            #expect(Array(response.body.readableBytesView) == expected)
        }
    }

    @Test func fieldsLeftOutTakeTheModelsConfiguredDefaults() async throws {
        let environment = try await Self.environment(
            defaults: ImageDefaults(width: 64, height: 64, steps: 2, cfgScale: 1, sampler: "Euler", clipSkip: 2))
        let (key, _) = try await environment.mintKey(.tier2)
        // cfg 1: one UNet pass per step, no negative prompt; the model's clip skip of 2.
        let expected = try await Self.expectedPNG(
            ImageRequest(prompt: "a lighthouse", width: 64, height: 64, steps: 2, guidance: 1, sampler: .euler, seed: 9,
                         clipSkip: 2), cfg: 1)
        let skipped = ImageRequest(prompt: "a lighthouse", width: 64, height: 64, steps: 2, guidance: 1, sampler: .euler,
                                   seed: 9, clipSkip: 2)
        var unskipped = skipped
        unskipped.clipSkip = 1
        let plainRequest = unskipped
        let (withSkip, withoutSkip) = try await offThePool {
            (try Self.model.generate(skipped, pool: Self.pool), try Self.model.generate(plainRequest, pool: Self.pool))
        }
        #expect(withSkip.pixels != withoutSkip.pixels,
                "clip skip changes the image")
        try await environment.live { server in
            let response = try await LiveClient.post(
                "\(server)/sd", json: body(["model": Self.name, "prompt": "a lighthouse", "seed": 9]), key: key)
            #expect(response.status == 200, "\(response.body.string)")
            #expect(Array(response.body.readableBytesView) == expected)
            // Explicit values are honoured over the defaults.
            let explicit = try await LiveClient.post("\(server)/sd", json: body([
                "model": Self.name, "prompt": "a lighthouse", "seed": 9, "width": 128, "steps": 1,
            ]), key: key)
            #expect(explicit.status == 200)
            let size = Array(explicit.body.readableBytesView[explicit.body.readerIndex + 16..<explicit.body.readerIndex + 24])
            #expect(size == [0, 0, 0, 128, 0, 0, 0, 64])
        }
    }

    @Test func withTAESDConfiguredImagesAreDecodedByIt() async throws {
        let environment = try await Self.environment(decoder: .taesd)
        let (key, _) = try await environment.mintKey(.tier2)
        let request = ImageRequest(prompt: "a boat", width: 64, height: 64, steps: 2, guidance: 7, sampler: .euler,
                                   seed: 5, fastDecode: true)
        let expected = try await Self.expectedPNG(request, cfg: 7)
        let withVAE = try await Self.expectedPNG({ var r = request; r.fastDecode = false; return r }(), cfg: 7)
        #expect(expected != withVAE)
        try await environment.live { server in
            let response = try await LiveClient.post("\(server)/sd", json: body([
                "model": Self.name, "prompt": "a boat", "width": 64, "height": 64, "steps": 2, "sampler": "Euler", "seed": 5,
            ]), key: key)
            #expect(response.status == 200, "\(response.body.string)")
            #expect(Array(response.body.readableBytesView) == expected)
        }
    }

    @Test func concurrentRequestsWithAndWithoutALoRAEachGetTheirOwnImage() async throws {
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        let plain = ImageRequest(prompt: "a house", width: 64, height: 64, steps: 2, guidance: 7, sampler: .euler, seed: 8)
        var withLoRA = plain
        withLoRA.loras = [LoRAUse(try LoRAFile(path: Self.lora), weight: 0.8)]
        let expected = (try await Self.expectedPNG(plain, cfg: 7),
                        try await Self.expectedPNG(withLoRA, cfg: 7, loraTags: " <lora:tiny-lora:0.8>"))
        #expect(expected.0 != expected.1)
        try await environment.live { server in
            func draw(_ loras: [String: Any]) async throws -> [UInt8] {
                var fields: [String: Any] = ["model": Self.name, "prompt": "a house", "width": 64, "height": 64, "steps": 2,
                                             "sampler": "Euler", "seed": 8]
                if !loras.isEmpty { fields["loras"] = loras }
                let response = try await LiveClient.post("\(server)/sd", json: body(fields), key: key)
                #expect(response.status == 200, "\(response.body.string)")
                return Array(response.body.readableBytesView)
            }
            async let a = draw(["tiny-lora": 0.8])
            async let b = draw([:])
            async let c = draw(["tiny-lora": 0.8])
            let (first, second, third) = try await (a, b, c)
            #expect(first == expected.1)
            #expect(second == expected.0)
            #expect(third == expected.1)
            let unknown = try await LiveClient.post("\(server)/sd", json: body([
                "model": Self.name, "prompt": "x", "loras": ["nope": 1], "steps": 1,
            ]), key: key)
            #expect(unknown.status == 400)
        }
    }

    @Test(arguments: [("tiny-sd2", sd2Fixture), ("tiny-sdxl", sdxlFixture)])
    func otherFamiliesAreServedToo(_ name: String, _ fixture: String) async throws {
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        let model = try StableDiffusionModel(checkpoint: fixture, vocabulary: Self.vocabulary)
        let request = ImageRequest(prompt: "a tree", width: 64, height: 64, steps: 2, guidance: 7, sampler: .dpmPlusPlus2M, seed: 4)
        let image = try await offThePool { try model.generate(request, pool: Self.pool) }
        let expected = PNGEncoder.encode(width: 64, height: 64, rgb: image.pixels, text: [("parameters",
            "a tree\nSteps: 2, Sampler: DPM++ 2M, CFG scale: 7, Seed: 4, Size: 64x64, Model: \(name)")])
        try await environment.live { server in
            let response = try await LiveClient.post("\(server)/sd", json: body([
                "model": name, "prompt": "a tree", "width": 64, "height": 64, "steps": 2, "sampler": "DPM++ 2M", "seed": 4,
            ]), key: key)
            #expect(response.status == 200, "\(response.body.string)")
            #expect(Array(response.body.readableBytesView) == expected)
            guard model.family == .sdxl else { return }
            // An SD 1.x LoRA names some layers SDXL has too, at other sizes: a clear 400, not a crash.
            let lora = try await LiveClient.post("\(server)/sd", json: body([
                "model": name, "prompt": "a tree", "width": 64, "height": 64, "steps": 1, "loras": ["tiny-lora": 1],
            ]), key: key)
            #expect(lora.status == 400, "\(lora.body.string)")
            #expect(lora.body.string.contains("another architecture"))
        }
    }

    @Test func anUnknownModelOrSamplerIs400() async throws {
        let environment = try await Self.environment()
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.test { client in
            let unknown = try await client.post("/sd", json: body(["model": "sd15", "prompt": "x"]), key: key)
            #expect(unknown.status == .badRequest)
            #expect(unknown.json["error"]["message"].string?.contains("models/sd") == true)
            let sampler = try await client.post("/sd", json: body(["model": Self.name, "prompt": "x", "sampler": "UniPC"]), key: key)
            #expect(sampler.status == .badRequest)
            #expect(sampler.json["error"]["param"].string == "sampler")
            let size = try await client.post(
                "/sd", json: body(["model": Self.name, "prompt": "x", "width": 100, "height": 64, "steps": 1]), key: key)
            #expect(size.status == .badRequest, "a width that is not a multiple of 8")
        }
    }

    /// A job that keeps the tiny model busy for tens of seconds: 256², 35 guided steps (it is
    /// cancelled long before; its blocks are short, so the cancellation lands within a fraction
    /// of a second and the machine is not held from the other suites meanwhile).
    static let longJob = body(["model": name, "prompt": "a long job", "width": 256, "height": 256, "steps": 35, "seed": 1])

    static func port(of server: String) -> Int { Int(server.split(separator: ":").last!)! }

    @Test func aClientThatLeavesCancelsItsJobAndTheNextIsServedAtOnce() async throws {
        // Room for both jobs in the queue, whenever the server notices the first client has gone.
        let environment = try await Self.environment(queue: 2)
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            let connection = try await RawHTTPConnection.connect(port: Self.port(of: server))
            try await connection.post("/sd", json: Self.longJob, headers: ["Authorization: Bearer \(key)"])
            connection.close()
            // Queued behind the long job (or run after it): it is answered once that job is over.
            let small = try await LiveClient.post("\(server)/sd", json: body([
                "model": Self.name, "prompt": "x", "width": 64, "height": 64, "steps": 1, "seed": 2,
            ]), key: key)
            #expect(small.status == 200, "\(small.body.string)")
        }
        let backend = try #require(environment.services.registry.imageModel(named: Self.name)?.pool.members.first
            as? EmbeddedImageBackend)
        #expect(backend.worker.counts == ImageWorker.Counts(drawn: 1, cancelled: 1), "the long job was stopped, not drawn")
        let records = try await environment.usageRecords()
        #expect(records.map(\.status).sorted() == [200, UsageRecord.clientClosedStatus])
    }

    @Test func aFullQueueIs503WithRetryAfter() async throws {
        let environment = try await Self.environment(queue: 1)
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.live { server in
            // Three long jobs: one runs, one may wait, the rest are refused at once.
            var connections: [RawHTTPConnection] = []
            for _ in 0..<3 {
                let connection = try await RawHTTPConnection.connect(port: Self.port(of: server))
                try await connection.post("/sd", json: Self.longJob, headers: ["Authorization: Bearer \(key)"])
                connections.append(connection)
            }
            // The server takes the three in whatever order; the first answer to come back is a
            // refusal (the others wait for their jobs).
            let refused = try await withThrowingTaskGroup(of: RawHTTPConnection.Response?.self) { group in
                for connection in connections {
                    let reader = UncheckedConnection(connection: connection)
                    group.addTask { try await reader.connection.readResponse(within: .seconds(60)) }
                }
                let first = try await group.next() ?? nil
                // Closing the others ends their reads (and cancels their jobs).
                for connection in connections { connection.close() }
                return first
            }
            let answer = try #require(refused)
            #expect(answer.status == 503)
            #expect(answer.header("Retry-After") == "1")
            #expect(answer.body.contains("busy"))
            // A busy engine is not a broken one: the model stays served, no cool-down.
            let small = try await LiveClient.post("\(server)/sd", json: body([
                "model": Self.name, "prompt": "x", "width": 64, "height": 64, "steps": 1, "seed": 2,
            ]), key: key)
            #expect(small.status == 200, "\(small.body.string)")
        }
    }
}

/// Runs heavy synchronous work (drawing an expected image) on a thread of its own, so tests that
/// wait for it do not hold the cooperative pool the other suites' servers and clients run on.
func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in Thread { continuation.resume(with: Result(catching: work)) }.start() }
}

/// A raw connection handed to one child task that alone reads from it.
private struct UncheckedConnection: @unchecked Sendable {
    let connection: RawHTTPConnection
}
