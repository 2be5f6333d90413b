import Foundation
import Testing
@testable import DiffusionEngine

/// AnimateDiff against diffusers (scripts/reference/animatediff_reference.py): a tiny random-weight
/// motion module of v2's layout on the tiny SD 1.x model — one UNet pass over eight frames, and
/// AnimateDiffPipeline's latents after every step with the decoded frames, from one seed.
@Suite(.serialized) struct AnimateDiffReferenceTests {
    static let fixture = ReferenceFixture("animatediff-tiny")
    static var directory: URL { fixture.directory }
    static var json: [String: Any] { fixture.json }
    static let motion = try! MotionModule(path: directory.appendingPathComponent("motion.safetensors").path, for: Reference.model.unet)
    static var generation: [String: Any] { json["generation"] as! [String: Any] }

    static func tensor(_ name: String) -> Tensor { fixture.tensor(name) }

    @Test func theModulesArePlacedByTheUNetsStructure() throws {
        // v2 at the fixture's shape: one per down-level resnet, one per up-level resnet, the middle one.
        #expect(Self.motion.input.count == 4 && Self.motion.output.count == 8 && Self.motion.middle != nil)
        #expect(Self.motion.trainedFrames == 32)
        // diffusers' own layout of the same weights reads the same.
        let diffusers = try MotionModule(path: Self.directory.appendingPathComponent("motion-diffusers.safetensors").path,
                                         for: Reference.model.unet)
        #expect(diffusers.input.keys.sorted() == Self.motion.input.keys.sorted())
        #expect(diffusers.output.keys.sorted() == Self.motion.output.keys.sorted())
    }

    @Test func oneUNetPassOverTheFramesIsDiffusers() throws {
        let input = Self.tensor("unet.input"), expected = Self.tensor("unet.output")
        let (channels, count, height, width) = (input.shape[1], input.shape[2], input.shape[3], input.shape[4])
        let size = channels * count * height * width
        let model = Reference.model
        let contexts = [model.encodePrompt(Self.generation["negative_prompt"] as! String, pool: Reference.pool),
                        model.encodePrompt(Self.generation["prompt"] as! String, pool: Reference.pool)]
        for (index, context) in contexts.enumerated() {
            let frames = StableDiffusionModel.frames(Array(input.values[index * size..<(index + 1) * size]), channels: channels,
                                                     count: count, height: height, width: width)
            let output = try model.unet.predictNoise(frames: frames, timestep: 631.5, context: context, motion: Self.motion,
                                                 pool: Reference.pool)
            let reference = Array(expected.values[index * size..<(index + 1) * size])
            #expect(relativeError(StableDiffusionModel.interleaved(output), reference) < 1e-4, "image \(index)")
            // The frames do relate: without the motion modules each frame would come out otherwise.
            let still = try model.unet.predictNoise(frames: frames, timestep: 631.5, context: context, pool: Reference.pool)
            #expect(relativeError(StableDiffusionModel.interleaved(still), reference) > 1e-2)
        }
    }

    @Test(arguments: [ImageSampler.euler, .eulerAncestral])
    func everyStepAndFrameIsDiffusers(_ sampler: ImageSampler) throws {
        let settings = Self.generation
        let request = ImageRequest(
            prompt: settings["prompt"] as! String, negativePrompt: settings["negative_prompt"] as! String,
            width: settings["width"] as! Int, height: settings["height"] as! Int, steps: settings["steps"] as! Int,
            guidance: Float(settings["cfg"] as! Double), sampler: sampler, seed: UInt64(settings["seed"] as! Int))
        var steps: [[Float]] = []
        let latents = try Reference.model.generateAnimationLatents(
            request, frames: settings["frames"] as! Int, motion: Self.motion, pool: Reference.pool,
            onStep: { _, latents in steps.append(latents) })
        #expect(steps.count == request.steps)
        for (index, values) in steps.enumerated() {
            #expect(relativeError(values, Self.tensor("sampler.\(sampler.rawValue).step\(index)").values) < 1e-4, "step \(index)")
        }
        let frames = try latents.map { try Reference.model.decoder.decode($0, pool: Reference.pool) }
        let pixels = frames.flatMap { $0.values.map { min(max($0 / 2 + 0.5, 0), 1) } }
        #expect(relativeError(pixels, Self.tensor("sampler.\(sampler.rawValue).frames").values) < 1e-4)
    }

    /// The feed-forward in pieces of rows (as an animation's many rows go) adds what it adds in one.
    @Test func aFeedForwardInPiecesIsTheWholeOne() throws {
        let block = try #require(Self.motion.input[0]?.blocks.first)
        let rows = 37, width = block.feedForwardIn.inputs
        var generator = TorchGenerator(seed: 4)
        let normed = generator.normal(count: rows * width), start = generator.normal(count: rows * width)
        var whole = start, pieces = start
        FeedForward.add(normed, rows: rows, through: block.feedForwardIn, block.feedForwardOut, to: &whole, pool: Reference.pool)
        FeedForward.add(normed, rows: rows, through: block.feedForwardIn, block.feedForwardOut, to: &pieces, pool: Reference.pool,
                        piece: 8)
        #expect(whole != start)
        #expect(relativeError(pieces, whole) < 1e-6)
    }

    /// The windows: one for a short animation; overlapping, the last moved back to the end, for a
    /// long one; every frame covered.
    @Test func contextWindowsCoverEveryFrame() {
        #expect(ContextWindows(frames: 16, length: 16, overlap: 4).windows == [0..<16])
        #expect(ContextWindows(frames: 14, length: 8, overlap: 4).windows == [0..<8, 4..<12, 6..<14])
        let long = ContextWindows(frames: 40, length: 16, overlap: 4)
        #expect(long.windows == [0..<16, 12..<28, 24..<40])
        #expect(long.counts(frames: 40).allSatisfy { $0 >= 1 })
    }

    /// More frames than the context: each window through the UNet, each frame's prediction the
    /// mean of its windows', every step as the reference script's loop over diffusers' model.
    @Test func aLongAnimationInWindowsIsTheReferenceLoop() throws {
        let settings = Self.generation, windows = Self.json["windows"] as! [String: Any]
        let request = ImageRequest(
            prompt: settings["prompt"] as! String, negativePrompt: settings["negative_prompt"] as! String,
            width: settings["width"] as! Int, height: settings["height"] as! Int, steps: settings["steps"] as! Int,
            guidance: Float(settings["cfg"] as! Double), sampler: .euler, seed: UInt64(settings["seed"] as! Int))
        var steps: [[Float]] = []
        _ = try Reference.model.generateAnimationLatents(
            request, frames: windows["frames"] as! Int, motion: Self.motion, context: windows["context"] as? Int,
            overlap: windows["overlap"] as! Int, pool: Reference.pool, onStep: { _, latents in steps.append(latents) })
        #expect(steps.count == request.steps)
        for (index, values) in steps.enumerated() {
            #expect(relativeError(values, Self.tensor("windows.step\(index)").values) < 1e-4, "step \(index)")
        }
    }
}
