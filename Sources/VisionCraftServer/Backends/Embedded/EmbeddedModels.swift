import Foundation
import LLMEngine
import Logging

/// Finds the GGUF files in the models folder and serves each under its name, quantization tag
/// dropped: `SmolLM2-135M-Instruct.Q4_1.gguf` is `SmolLM2-135M-Instruct`.
enum EmbeddedModels {
    static func load(directory: String, options: EmbeddedEngineOptions, logger: Logger) -> [(name: String, backend: EmbeddedChatBackend)] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return files.filter { $0.hasSuffix(".gguf") }.sorted().compactMap { file in
            let name = publicName(of: file)
            let path = (directory as NSString).appendingPathComponent(file)
            do {
                let started = ContinuousClock.now
                logger.info("Loading embedded model", metadata: ["model": "\(name)", "file": "\(path)"])
                let model = try LlamaModel(path: path, threads: options.threads, order: options.productOrder)
                logger.info("Loaded embedded model", metadata: [
                    "model": "\(name)", "layers": "\(model.config.layerCount)",
                    "load_time": "\(ContinuousClock.now - started)", "threads": "\(options.threads)",
                    "product_order": "\(options.productOrder.rawValue)",
                    "sequences": "\(options.sequences)", "context_length": "\(options.contextLength)",
                ])
                return (name, EmbeddedChatBackend(model: model, name: name, template: chatTemplate(model, name, logger), options: options))
            } catch {
                logger.error("Cannot serve \(file): \(error)")
                return nil
            }
        }
    }

    /// The file's own chat template, or ChatML when it has one this interpreter cannot run; nil
    /// when it has none — a base model, served on the completions API only.
    static func chatTemplate(_ model: LlamaModel, _ name: String, _ logger: Logger) -> ChatTemplate? {
        guard model.file.metadata["tokenizer.chat_template"]?.stringValue != nil else {
            logger.info("No chat template: a base model, served on /v1/completions only", metadata: ["model": "\(name)"])
            return nil
        }
        do {
            return try ChatTemplate(file: model.file)
        } catch {
            logger.warning("Using ChatML instead of the model's chat template", metadata: ["model": "\(name)", "reason": "\(error)"])
            return try! ChatTemplate(source: ChatTemplate.chatML)
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
