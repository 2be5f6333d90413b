import LLMEngine

extension StableDiffusionModel {
    /// How many frames one UNet pass of an animation relates at most, unless asked otherwise.
    public static let animationContext = 16

    /// An animation's latents, as AnimateDiff draws them: the noise of every frame drawn as one
    /// tensor (channels, then frames, then pixels: diffusers' `AnimateDiffPipeline` layout, so a
    /// seed gives its animation), the sampler stepping them together, each model evaluation one
    /// UNet pass over all the frames with `motion` relating them — or, for more frames than
    /// `context` (default 16, the clips the modules were trained on), one pass per overlapping window of that
    /// many frames (`overlap` shared with the next), each frame's prediction the mean of its
    /// windows'. Returns the frames' latents.
    public func generateAnimationLatents(
        _ request: ImageRequest, frames count: Int, motion: MotionModule, context: Int? = nil, overlap: Int = 4,
        pool: ComputePool, shouldStop: () -> Bool = { false },
        onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> [FeatureMap] {
        try sampleFrames(request, count: count, motion: motion, context: context, overlap: overlap, pool: pool,
                         shouldStop: shouldStop, onStep: onStep)
    }

    /// The sampling both images (one frame, no motion modules) and animations go through.
    func sampleFrames(
        _ request: ImageRequest, count: Int, motion: MotionModule?, context: Int? = nil, overlap: Int = 4,
        pool: ComputePool, shouldStop: () -> Bool, onStep: (_ step: Int, _ latents: [Float]) throws -> Void
    ) throws -> [FeatureMap] {
        func checkpoint() throws(DiffusionError) { if shouldStop() { throw .cancelled } }
        let scale = latentScale
        guard request.width % scale == 0, request.height % scale == 0, request.width > 0, request.height > 0 else {
            throw DiffusionError.invalidRequest("width and height must be positive multiples of \(scale)")
        }
        guard motion == nil || family == .sd1 else {
            throw DiffusionError.unsupported("AnimateDiff's motion modules are for SD 1.x checkpoints")
        }
        // Without motion modules the frames are independent: one pass holds them all.
        let length = motion.map { min(context ?? Self.animationContext, $0.trainedFrames) } ?? count
        guard count >= 1, count <= length || length > overlap else {
            throw DiffusionError.invalidRequest("an animation needs at least one frame, and windows longer than their overlap")
        }
        let windows = ContextWindows(frames: count, length: length, overlap: overlap)
        let counts = windows.counts(frames: count)
        let (height, width, channels) = (request.height / scale, request.width / scale, unet.inChannels)
        let guided = request.guidance > 1
        let positive = try condition(on: request.prompt, clipSkip: request.clipSkip, width: request.width,
                                     height: request.height, pool: pool)
        let negative = guided ? try condition(on: request.negativePrompt, clipSkip: request.clipSkip, width: request.width,
                                              height: request.height, negative: true, pool: pool) : positive
        var generator = TorchGenerator(seed: request.seed)
        let noise = generator.normal(count: channels * count * height * width)
        let latents = try request.sampler.sample(
            noise: noise, steps: request.steps, schedule: schedule, generator: &generator, prediction: prediction,
            denoise: { input, timestep in
                let maps = Self.frames(input, channels: channels, count: count, height: height, width: width)
                // Each window's guided prediction, each frame's the mean over its windows.
                var sums = [FeatureMap](repeating: FeatureMap(channels: channels, height: height, width: width), count: count)
                for window in windows.windows {
                    let part = Array(maps[window])
                    let conditioned = try unet.predictNoise(
                        frames: part, timestep: timestep, context: positive.context, labels: positive.labels,
                        motion: motion, pool: pool, checkpoint: checkpoint)
                    var guidedPart = conditioned
                    if guided {
                        let unconditioned = try unet.predictNoise(
                            frames: part, timestep: timestep, context: negative.context, labels: negative.labels,
                            motion: motion, pool: pool, checkpoint: checkpoint)
                        for i in guidedPart.indices {
                            guidedPart[i].values = zip(unconditioned[i].values, conditioned[i].values).map { u, c in
                                u + request.guidance * (c - u)
                            }
                        }
                    }
                    for (offset, f) in window.enumerated() { sums[f].add(guidedPart[offset]) }
                }
                for f in 0..<count where counts[f] > 1 {
                    let share = Float(counts[f])
                    for i in sums[f].values.indices { sums[f].values[i] /= share }
                }
                return Self.interleaved(sums)
            },
            onStep: onStep)
        return Self.frames(latents, channels: channels, count: count, height: height, width: width)
    }

    /// The animation's frames as pictures, each decoded on its own (TAESD when asked and present).
    public func animate(
        _ request: ImageRequest, frames count: Int, motion: MotionModule, pool: ComputePool, shouldStop: () -> Bool = { false },
        onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> [RGBImage] {
        let latents = try generateAnimationLatents(request, frames: count, motion: motion, pool: pool, shouldStop: shouldStop,
                                                   onStep: onStep)
        return try latents.map { try picture($0, fast: request.fastDecode, pool: pool, shouldStop: shouldStop) }
    }

    /// Latents laid out channels, frames, pixels → one map per frame.
    static func frames(_ values: [Float], channels: Int, count: Int, height: Int, width: Int) -> [FeatureMap] {
        let pixels = height * width
        return (0..<count).map { f in
            var map = FeatureMap(channels: channels, height: height, width: width)
            for c in 0..<channels {
                for p in 0..<pixels { map.values[c * pixels + p] = values[(c * count + f) * pixels + p] }
            }
            return map
        }
    }

    /// The inverse of `frames`.
    static func interleaved(_ maps: [FeatureMap]) -> [Float] {
        let count = maps.count, channels = maps[0].channels, pixels = maps[0].pixels
        var values = [Float](repeating: 0, count: channels * count * pixels)
        for (f, map) in maps.enumerated() {
            for c in 0..<channels {
                for p in 0..<pixels { values[(c * count + f) * pixels + p] = map.values[c * pixels + p] }
            }
        }
        return values
    }
}
