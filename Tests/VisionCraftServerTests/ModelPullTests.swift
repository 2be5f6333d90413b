import AsyncHTTPClient
import Crypto
import Foundation
import Testing
@testable import VisionCraftServer

/// `visioncraft models pull` against a hub double over a real socket: the file lands in the right
/// folder, a dropped connection is resumed with a Range request, a wrong checksum leaves nothing.
@Suite(.serialized) struct ModelPullTests {
    static let file: [UInt8] = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 2_654_435_761 >> 7) }
    let dataDir = FileManager.default.temporaryDirectory.appendingPathComponent("vc-pull-\(UUID().uuidString)").path

    func pull(_ source: String, endpoint: String, kind: ModelSource.Kind? = nil, sha256: String? = nil) async throws -> String {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        do {
            let path = try await ModelDownloader(client: client, attempts: 3).pull(
                try ModelSource(source, kind: kind, hubEndpoint: endpoint), modelsDirectory: dataDir + "/models", sha256: sha256)
            try await client.shutdown()
            return path
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    @Test func sourcesNameTheirFileAndFolder() throws {
        let hub = try ModelSource("runwayml/stable-diffusion-v1-5/v1-5-pruned-emaonly.safetensors", hubEndpoint: "https://hf.example")
        #expect(hub.url == "https://hf.example/runwayml/stable-diffusion-v1-5/resolve/main/v1-5-pruned-emaonly.safetensors")
        #expect(hub.destination(in: "/m") == "/m/sd/v1-5-pruned-emaonly.safetensors")
        let revision = try ModelSource("owner/repo@fp16/sub/dir/model.gguf")
        #expect(revision.url == "https://huggingface.co/owner/repo/resolve/fp16/sub/dir/model.gguf")
        #expect(revision.destination(in: "/m") == "/m/model.gguf")
        #expect(try ModelSource("https://x.example/a/b/add_detail.safetensors?download=true", kind: .lora).destination(in: "/m")
            == "/m/loras/add_detail.safetensors")
        #expect(throws: (any Error).self) { try ModelSource("just-a-name.safetensors") }
        #expect(throws: (any Error).self) { try ModelSource("owner/repo/../../etc/passwd") }
    }

    @Test func aDroppedDownloadResumesWithARangeAndIsVerified() async throws {
        let hub = ModelHubDouble(file: Self.file, path: "/someone/tiny/resolve/main/tiny.safetensors", cutAfter: 100_000)
        let path = try await hub.run { endpoint in try await pull("someone/tiny/tiny.safetensors", endpoint: endpoint) }
        #expect(path == dataDir + "/models/sd/tiny.safetensors")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: path))) == Self.file)
        // The second request asks only for what the first did not deliver (the client may have
        // dropped the last chunks it had not written yet when the connection broke).
        #expect(hub.ranges.count == 2 && hub.ranges[0] == nil)
        let resumedAt = try #require(hub.ranges.last??.dropFirst("bytes=".count).dropLast()).flatMap { Int($0) }
        #expect(resumedAt.map { $0 > 0 && $0 <= 100_000 } == true, "\(hub.ranges)")
        #expect(!FileManager.default.fileExists(atPath: path + ".part"))
    }

    @Test func aChecksumThatDoesNotMatchLeavesNothing() async throws {
        let wrong = String(repeating: "ab", count: 32)
        let hub = ModelHubDouble(file: Self.file, path: "/someone/tiny/resolve/main/bad.safetensors", announcedSHA256: wrong)
        await #expect(throws: ConfigurationError.self) {
            try await hub.run { endpoint in try await pull("someone/tiny/bad.safetensors", endpoint: endpoint) }
        }
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/models/sd/bad.safetensors"))
        #expect(!FileManager.default.fileExists(atPath: dataDir + "/models/sd/bad.safetensors.part"))
    }

    @Test func aMissingFileIsAnError() async throws {
        let hub = ModelHubDouble(file: Self.file, path: "/someone/tiny/resolve/main/tiny.safetensors")
        await #expect(throws: ConfigurationError.self) {
            try await hub.run { endpoint in try await pull("someone/tiny/other.safetensors", endpoint: endpoint) }
        }
    }

    @Test func theCommandLinePullsThroughHFEndpoint() async throws {
        let hub = ModelHubDouble(file: Self.file, path: "/someone/loras/resolve/main/detail.safetensors", cutAfter: 5_000)
        let binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("visioncraft").path
        let dataDir = self.dataDir
        let (status, output) = try await hub.run { endpoint in
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<(Int32, String), any Error>) in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: binary)
                process.arguments = ["models", "pull", "someone/loras/detail.safetensors", "--kind", "lora", "--data-dir", dataDir]
                process.environment = ["HF_ENDPOINT": endpoint]
                let pipe = Pipe()
                process.standardOutput = pipe
                process.standardError = FileHandle.nullDevice
                process.terminationHandler = { process in
                    let data = pipe.fileHandleForReading.readDataToEndOfFile()
                    continuation.resume(returning: (process.terminationStatus, String(decoding: data, as: UTF8.self)))
                }
                do { try process.run() } catch { continuation.resume(throwing: error) }
            }
        }
        #expect(status == 0)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == dataDir + "/models/loras/detail.safetensors")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dataDir + "/models/loras/detail.safetensors"))) == Self.file)
    }
}
