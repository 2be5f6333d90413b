import ArgumentParser
import AsyncHTTPClient
import Foundation
import VisionCraftServer

struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models", abstract: "Fetch model files into the models folder.", subcommands: [Pull.self])

    struct Pull: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download a model: a URL, or a Hugging Face file as owner/repo/path (owner/repo@revision/path).",
            discussion: """
                Resumes a partial download (<file>.part) and checks the SHA-256 that Hugging Face announces for \
                large files, or the one given with --sha256. Where it goes: .gguf files into models/, \
                .safetensors into models/sd/, unless --kind says lora, taesd, motion, checkpoint or llm. \
                HF_ENDPOINT points at a hub mirror.
                """)

        @OptionGroup var storage: StorageOptions
        @Argument(help: "URL or owner/repo/path/to/file") var source: String
        @Option(help: "llm, checkpoint, lora, taesd or motion (default: by the file's extension).") var kind: String?
        @Option(help: "The file's expected SHA-256 (hex).") var sha256: String?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            var chosen: ModelSource.Kind?
            if let kind {
                guard let parsed = ModelSource.Kind(rawValue: kind) else {
                    throw ValidationError("--kind must be one of \(ModelSource.Kind.allCases.map(\.rawValue).joined(separator: ", ")).")
                }
                chosen = parsed
            }
            let model = try ModelSource(source, kind: chosen, hubEndpoint: environment["HF_ENDPOINT"] ?? "https://huggingface.co")
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .follow(max: 10, allowCycles: false)))
            let path: String
            do {
                path = try await pull(model, client: client)
            } catch {
                try? await client.shutdown()
                throw error
            }
            try? await client.shutdown()
            print(path)
        }

        private func pull(_ model: ModelSource, client: HTTPClient) async throws -> String {
            try await ModelDownloader(client: client).pull(
                model, modelsDirectory: (storage.dataDir as NSString).appendingPathComponent("models"), sha256: sha256
            ) { event in
                let line: String
                switch event {
                case .resuming(let offset): line = "Resuming at \(offset) bytes"
                case .progress(let received, let total):
                    line = total.map { String(format: "%.1f%% of %.1f MB", Double(received) * 100 / Double(max($0, 1)), Double($0) / 1e6) }
                        ?? String(format: "%.1f MB", Double(received) / 1e6)
                case .retrying(let reason): line = "Interrupted (\(reason)); resuming"
                case .verified(let digest): line = "SHA-256 verified: \(digest)"
                }
                FileHandle.standardError.write(Data((line + "\n").utf8))
            }
        }
    }
}
