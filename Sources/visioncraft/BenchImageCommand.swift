import ArgumentParser
import DiffusionEngine
import Foundation
import LLMEngine

extension Precision: ExpressibleByArgument {}

/// `make bench-image`'s half on our side: seconds per guided UNet step and for the VAE decode at
/// 512², the process's peak RSS, and one whole image in a few steps with TAESD.
struct BenchImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-image", abstract: "Measure the embedded diffusion engine's speed.", shouldDisplay: false)

    @Option(help: "Checkpoint (A1111 single file or stable-diffusion.cpp GGUF).") var model: String
    @Option(help: "The CLIP BPE vocabulary.") var vocabulary: String = "data/models/clip/bpe_simple_vocab_16e6.txt"
    @Option(help: "TAESD decoder weights, for the end-to-end figure.") var taesd: String?
    @Option(help: "Compute threads.") var threads: Int = 2
    @Option(help: "Guided steps to time (the median is shown).") var steps: Int = 3
    @Option(help: "Image side in pixels.") var size: Int = 512
    @Option(help: "float32 or bfloat16.") var precision: Precision = .fastest

    func run() throws {
        let start = ContinuousClock.now
        let model = try StableDiffusionModel(checkpoint: self.model, vocabulary: vocabulary, fastDecoder: taesd,
                                             precision: precision)
        let loaded = ContinuousClock.now - start
        print("visioncraft precision=\(precision.rawValue) threads=\(threads) load_s=\(Self.seconds(loaded)) rss_after_load_mb=\(Self.residentMegabytes("VmRSS:"))")
        let pool = ComputePool(threadCount: threads)
        let request = ImageRequest(prompt: "a photograph of a cat", negativePrompt: "blurry", width: size, height: size,
                                   steps: steps, guidance: 7, sampler: .euler, seed: 1)
        var stepTimes: [Duration] = []
        var last = ContinuousClock.now
        let latents = try model.generateLatents(request, pool: pool, onStep: { _, _ in
            let now = ContinuousClock.now
            stepTimes.append(now - last)
            last = now
        })
        // The first interval also holds the two prompts' encoding; the sampler's steps follow.
        let stepsPeak = Self.residentMegabytes("VmHWM:")
        let decodeStart = ContinuousClock.now
        _ = try model.decoder.decode(latents, pool: pool)
        let decode = ContinuousClock.now - decodeStart
        let sorted = stepTimes.dropFirst().sorted()
        let median = sorted.isEmpty ? stepTimes[0] : sorted[sorted.count / 2]
        print("visioncraft guided_step_s=\(Self.seconds(median)) (median of \(sorted.count); first with prompts \(Self.seconds(stepTimes[0]))) vae_decode_s=\(Self.seconds(decode)) peak_rss_mb=\(Self.residentMegabytes("VmHWM:")) (\(stepsPeak) before decoding)")

        if taesd != nil {
            var fast = request
            (fast.steps, fast.guidance, fast.fastDecode) = (4, 1, true)
            let begin = ContinuousClock.now
            _ = try model.generate(fast, pool: pool)
            print("visioncraft end_to_end_4_steps_cfg1_taesd_s=\(Self.seconds(ContinuousClock.now - begin)) peak_rss_mb=\(Self.residentMegabytes("VmHWM:"))")
        }
    }

    static func seconds(_ duration: Duration) -> String {
        String(format: "%.2f", Double(duration.components.seconds) + Double(duration.components.attoseconds) * 1e-18)
    }

    /// A memory figure of this process from /proc/self/status (`VmRSS:` now, `VmHWM:` its peak), in MB.
    static func residentMegabytes(_ field: String) -> String {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix(field) }),
              let kilobytes = Double(line.split(separator: " ", omittingEmptySubsequences: true)[1]) else { return "unknown" }
        return String(format: "%.0f", kilobytes / 1024)
    }
}
