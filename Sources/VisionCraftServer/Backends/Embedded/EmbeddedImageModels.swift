import DiffusionEngine
import Foundation
import Logging

/// Finds the Stable Diffusion checkpoints in `models/sd` (`.safetensors`, or stable-diffusion.cpp's
/// `.gguf`) and serves each under its file name (without the extension). Pickled `.ckpt` files are refused with a log line saying to convert
/// them: unpickling runs code.
enum EmbeddedImageModels {
    static let checkpointExtensions = [".safetensors", ".gguf"]
    static let pickledExtensions = [".ckpt", ".pt", ".pth", ".bin"]

    static func load(
        modelsDirectory: String, options: EmbeddedImageOptions, logger: Logger
    ) -> [(name: String, backend: EmbeddedImageBackend)] {
        let directory = (modelsDirectory as NSString).appendingPathComponent("sd")
        let vocabulary = (modelsDirectory as NSString).appendingPathComponent("clip/bpe_simple_vocab_16e6.txt")
        // TAESD for SD 1.x/2.x latents, TAESDXL for SDXL's, each used where present.
        func fastDecoder(for family: StableDiffusionModel.Family) -> String? {
            guard options.decoder == .taesd else { return nil }
            let path = (modelsDirectory as NSString).appendingPathComponent(
                "taesd/" + StableDiffusionModel.fastDecoderFile(for: family))
            if FileManager.default.fileExists(atPath: path) { return path }
            logger.warning("image_decoder is taesd but \(path) is missing; decoding \(family.rawValue) models with their VAE")
            return nil
        }
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        let loras = self.loras(in: (modelsDirectory as NSString).appendingPathComponent("loras"), logger: logger)
        // A diffusers folder (one with model_index.json) is served under the folder's name.
        func isFolder(_ file: String) -> Bool { DiffusersFolder.isFolder((directory as NSString).appendingPathComponent(file)) }
        guard files.contains(where: { file in checkpointExtensions.contains(where: file.hasSuffix) || isFolder(file) }) else {
            for file in files where pickledExtensions.contains(where: file.hasSuffix) {
                logger.error("Not serving a pickled checkpoint: convert it to .safetensors", metadata: ["file": "\(file)"])
            }
            return []
        }
        let tokenizer: CLIPTokenizer
        do {
            tokenizer = try CLIPTokenizer(mergesFile: vocabulary)
        } catch {
            logger.error("Image models need the CLIP vocabulary (make model fetches it): \(error)")
            return []
        }
        return files.sorted().compactMap { file in
            if let pickled = pickledExtensions.first(where: file.hasSuffix) {
                logger.error("Not serving a pickled checkpoint: convert it to .safetensors", metadata: [
                    "file": "\(file)", "extension": "\(pickled)",
                ])
                return nil
            }
            let name: String
            if let ext = checkpointExtensions.first(where: file.hasSuffix) {
                name = String(file.dropLast(ext.count))
            } else if isFolder(file) {
                name = file
            } else {
                return nil
            }
            let path = (directory as NSString).appendingPathComponent(file)
            do {
                let started = ContinuousClock.now
                var model = try StableDiffusionModel(checkpoint: path, tokenizer: tokenizer, precision: options.precision)
                model = try model.withFastDecoder(fastDecoder(for: model.family), precision: options.precision)
                logger.info("Loaded image model", metadata: [
                    "model": "\(name)", "file": "\(path)", "load_time": "\(ContinuousClock.now - started)",
                    "family": "\(model.family.rawValue)", "prediction": "\(model.prediction.rawValue)",
                    "threads": "\(options.threads)", "queue": "\(options.queueCapacity)",
                    "decoder": "\(model.fastDecoder == nil ? "vae" : "taesd")",
                ])
                let worker = ImageWorker(model: model, threads: options.threads, queueCapacity: options.queueCapacity)
                return (name, EmbeddedImageBackend(name: name, worker: worker, loras: loras, logger: logger))
            } catch {
                logger.error("Cannot serve image model \(file): \(error)")
                return nil
            }
        }
    }

    /// The AnimateDiff motion modules in `models/motion` (`.safetensors`), each served as a GIF
    /// model under its file name on the checkpoint `checkpoint(name)` names, else the first SD 1.x
    /// one, through that checkpoint's own worker.
    static func gifs(
        modelsDirectory: String, images: [(name: String, backend: EmbeddedImageBackend)], options: EmbeddedImageOptions,
        checkpoint: (String) -> String?, logger: Logger
    ) -> [(name: String, backend: EmbeddedGIFBackend)] {
        let directory = (modelsDirectory as NSString).appendingPathComponent("motion")
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [] }
        return files.sorted().compactMap { file in
            guard file.hasSuffix(".safetensors") else {
                if pickledExtensions.contains(where: file.hasSuffix) {
                    logger.error("Not serving a pickled motion module: convert it to .safetensors", metadata: ["file": "\(file)"])
                }
                return nil
            }
            let name = String(file.dropLast(".safetensors".count))
            let wanted = checkpoint(name)
            guard let image = images.first(where: { wanted.map($0.name.elementsEqual) ?? ($0.backend.worker.model.family == .sd1) })
            else {
                logger.error("Motion module \(file) has no checkpoint to animate: \(wanted.map { "'\($0)' is not served" } ?? "put an SD 1.x checkpoint into models/sd")")
                return nil
            }
            do {
                let path = (directory as NSString).appendingPathComponent(file)
                let motion = try MotionModule(path: path, for: image.backend.worker.model.unet, precision: options.precision)
                logger.info("Loaded motion module", metadata: ["model": "\(name)", "checkpoint": "\(image.name)",
                                                               "frames": "\(motion.trainedFrames)"])
                return (name, EmbeddedGIFBackend(name: name, worker: image.backend.worker, motion: motion, logger: logger))
            } catch {
                logger.error("Cannot serve motion module \(file) on \(image.name): \(error)")
                return nil
            }
        }
    }

    /// The LoRAs in `models/loras` by name (file name without `.safetensors`); files that are not
    /// kohya-style LoRAs are left out with a log line.
    static func loras(in directory: String, logger: Logger) -> [String: String] {
        guard let files = try? FileManager.default.contentsOfDirectory(atPath: directory) else { return [:] }
        var found: [String: String] = [:]
        for file in files.sorted() where file.hasSuffix(".safetensors") {
            let path = (directory as NSString).appendingPathComponent(file)
            do {
                _ = try LoRAFile(path: path)
                found[String(file.dropLast(".safetensors".count))] = path
            } catch {
                logger.error("Not serving LoRA \(file): \(error)")
            }
        }
        return found
    }
}
