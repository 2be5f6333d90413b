import ArgumentParser
import Foundation
import LLMEngine

/// `make bench-tokenizer`'s half on our side: how fast a model's tokenizer turns whole files into
/// tokens, best of several runs, with a digest of the ids so both sides can be seen to agree.
struct BenchTokenizerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-tokenizer", abstract: "Measure the embedded tokenizer's speed on text files.",
        shouldDisplay: false)

    @Option(help: "GGUF model file whose tokenizer is measured.") var model: String
    @Option(help: "Runs of each file; the best is shown, as a shared machine only ever slows a run down.")
    var repeats: Int = 5
    @Argument(help: "UTF-8 text files, each tokenized whole.") var files: [String]

    func run() throws {
        let tokenizer = try BPETokenizer(file: GGUFFile(path: model))
        for path in files {
            let text = try String(contentsOfFile: path, encoding: .utf8)
            var best = Duration.seconds(1_000_000)
            var tokens: [Int32] = []
            for _ in 0..<max(1, repeats) {
                let start = ContinuousClock.now
                tokens = tokenizer.encode(text)
                best = min(best, ContinuousClock.now - start)
            }
            let seconds = Double(best.components.seconds) + Double(best.components.attoseconds) / 1e18
            print("visioncraft file=\((path as NSString).lastPathComponent) bytes=\(text.utf8.count) "
                + "tokens=\(tokens.count) digest=\(Self.digest(tokens)) best_ms=\(String(format: "%.1f", seconds * 1000)) "
                + "mb_per_s=\(String(format: "%.2f", Double(text.utf8.count) / seconds / 1_048_576))")
        }
    }

    /// FNV-1a over the ids, the same function as the llama.cpp side's script computes.
    static func digest(_ tokens: [Int32]) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for token in tokens {
            hash ^= UInt64(UInt32(bitPattern: token))
            hash = hash &* 0x100_0000_01b3
        }
        return String(hash, radix: 16)
    }
}
