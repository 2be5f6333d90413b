import Foundation
import LLMEngine
import Logging

/// Finds the GGUF files in the models folder and serves each under its name, quantization tag
/// dropped: `SmolLM2-135M-Instruct.Q4_1.gguf` is `SmolLM2-135M-Instruct`.
enum EmbeddedModels {
    static func load(directory: String, contextLength: Int, logger: Logger) -> [(name: String, backend: EmbeddedChatBackend)] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return files.filter { $0.hasSuffix(".gguf") }.sorted().compactMap { file in
            let name = publicName(of: file)
            let path = (directory as NSString).appendingPathComponent(file)
            do {
                let started = ContinuousClock.now
                let model = try LlamaModel(path: path)
                logger.info("Loaded embedded model", metadata: [
                    "model": "\(name)", "layers": "\(model.config.layerCount)",
                    "load_time": "\(ContinuousClock.now - started)",
                ])
                return (name, EmbeddedChatBackend(model: model, name: name, contextLength: contextLength))
            } catch {
                logger.error("Cannot serve \(file): \(error)")
                return nil
            }
        }
    }

    static func publicName(of file: String) -> String {
        let stem = String(file.dropLast(".gguf".count))
        guard let dot = stem.lastIndex(of: ".") else { return stem }
        let tag = stem[stem.index(after: dot)...].uppercased()
        let quantization = tag.hasPrefix("Q") || tag.hasPrefix("IQ") || ["F16", "F32", "BF16"].contains(tag)
        return quantization ? String(stem[..<dot]) : stem
    }
}
