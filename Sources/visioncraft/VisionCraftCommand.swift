import ArgumentParser
import Foundation
import VisionCraftServer


struct VisionCraftCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visioncraft",
        abstract: "A self-hostable AI API server: OpenAI-compatible chat, Stable Diffusion images and GIFs behind API keys.",
        subcommands: [ServeCommand.self, KeysCommand.self, UsageCommand.self, ModelsCommand.self, BenchEngineCommand.self, BenchTokenizerCommand.self,
                      BenchImageCommand.self, BenchGIFCommand.self],
        defaultSubcommand: ServeCommand.self)
}

/// Options every command shares: where the data lives.
struct StorageOptions: ParsableArguments {
    @Option(name: .long, help: "Directory for the database and downloaded models.")
    var dataDir: String = ProcessInfo.processInfo.environment["VISIONCRAFT_DATA_DIR"] ?? "data"

    func openDatabase() throws -> SQLiteDatabase {
        try FileManager.default.createDirectory(atPath: dataDir, withIntermediateDirectories: true)
        return try SQLiteDatabase.open(path: (dataDir as NSString).appendingPathComponent("visioncraft.sqlite"))
    }
}
