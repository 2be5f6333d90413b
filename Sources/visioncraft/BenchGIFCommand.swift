import ArgumentParser
import DiffusionEngine
import Foundation
import LLMEngine
import MediaCodecs

/// `make bench-gif`'s half on our side: an AnimateDiff animation (a motion module on a checkpoint)
/// — seconds per guided step over all the frames, the whole animation to GIF bytes, the peak RSS.
struct BenchGIFCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-gif", abstract: "Measure the embedded engine's AnimateDiff speed.", shouldDisplay: false)

    @Option(help: "SD 1.x checkpoint.") var model: String
    @Option(help: "AnimateDiff motion module (.safetensors).") var motion: String
    @Option(help: "The CLIP BPE vocabulary.") var vocabulary: String = "data/models/clip/bpe_simple_vocab_16e6.txt"
    @Option(help: "TAESD decoder weights: decode the frames with it.") var taesd: String?
    @Option(help: "Compute threads.") var threads: Int = 2
    @Option(help: "Sampler steps.") var steps: Int = 4
    @Option(help: "Frames.") var frames: Int = 16
    @Option(help: "Frame side in pixels.") var size: Int = 256
    @Option(help: "float32 or bfloat16.") var precision: Precision = .fastest
    @Flag(help: "Also time one guided UNet pass over the frames without the motion modules (what they cost).")
    var motionCost = false

    func run() throws {
        let start = ContinuousClock.now
        let model = try StableDiffusionModel(checkpoint: self.model, vocabulary: vocabulary, fastDecoder: taesd,
                                             precision: precision)
        let module = try MotionModule(path: motion, for: model.unet, precision: precision)
        print("visioncraft precision=\(precision.rawValue) threads=\(threads) load_s=\(BenchImageCommand.seconds(ContinuousClock.now - start)) rss_after_load_mb=\(BenchImageCommand.residentMegabytes("VmRSS:"))")
        let pool = ComputePool(threadCount: threads)
        if motionCost {
            let maps = (0..<frames).map { _ in FeatureMap(channels: 4, height: size / 8, width: size / 8) }
            let context = model.encodePrompt("a red fox", pool: pool)
            for motion in [nil, module] {
                let begin = ContinuousClock.now
                _ = try model.unet.predictNoise(frames: maps, timestep: 500, context: context, motion: motion, pool: pool)
                print("visioncraft one_unet_pass_\(motion == nil ? "without" : "with")_motion_s=\(BenchImageCommand.seconds(ContinuousClock.now - begin))")
            }
        }
        let request = ImageRequest(prompt: "a red fox running through snow", negativePrompt: "blurry", width: size, height: size,
                                   steps: steps, guidance: 7, sampler: .euler, seed: 1, fastDecode: taesd != nil)
        var stepTimes: [Duration] = []
        let begin = ContinuousClock.now
        var last = begin
        let pictures = try model.animate(request, frames: frames, motion: module, pool: pool, onStep: { _, _ in
            let now = ContinuousClock.now
            stepTimes.append(now - last)
            last = now
        })
        let sampled = ContinuousClock.now
        let gif = GIFEncoder.encode(width: size, height: size, frames: pictures.map(\.pixels), fps: 8)
        let end = ContinuousClock.now
        // The first interval also holds the prompts' encoding.
        let sorted = stepTimes.dropFirst().sorted()
        let median = sorted.isEmpty ? stepTimes[0] : sorted[sorted.count / 2]
        print("visioncraft frames=\(frames) size=\(size) guided_step_s=\(BenchImageCommand.seconds(median)) (median of \(sorted.count); first with prompts \(BenchImageCommand.seconds(stepTimes[0]))) decode_s=\(BenchImageCommand.seconds(sampled - last)) gif_encode_s=\(BenchImageCommand.seconds(end - sampled)) end_to_end_s=\(BenchImageCommand.seconds(end - begin)) gif_bytes=\(gif.count) peak_rss_mb=\(BenchImageCommand.residentMegabytes("VmHWM:"))")
    }
}
