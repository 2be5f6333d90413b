import LLMEngine

extension StableDiffusionModel {
    /// The text encoder's rows for a prompt: start mark, up to 75 tokens, end mark, padded with end
    /// marks to 77 (as diffusers pads, so a prompt gives its context).
    public func encodePrompt(_ text: String, clipSkip: Int = 1, pool: ComputePool) -> [Float] {
        let tokens = tokenizer.encode(text).prefix(CLIPTokenizer.contextLength - 2)
        var ids = [CLIPTokenizer.startOfText] + tokens + [CLIPTokenizer.endOfText]
        ids += Array(repeating: CLIPTokenizer.endOfText, count: CLIPTokenizer.contextLength - ids.count)
        return textEncoder.encode(ids, skip: max(0, clipSkip - 1), pool: pool)
    }

    /// The latents for `request`, from the seed's noise to the sampler's last step. `onStep`
    /// runs after each step (throw from it to stop); `shouldStop` is asked between the network's
    /// blocks, and stops the work with `DiffusionError.cancelled`.
    public func generateLatents(
        _ request: ImageRequest, pool: ComputePool, shouldStop: () -> Bool = { false },
        onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> FeatureMap {
        func checkpoint() throws(DiffusionError) { if shouldStop() { throw .cancelled } }
        let scale = latentScale
        guard request.width % scale == 0, request.height % scale == 0, request.width > 0, request.height > 0 else {
            throw DiffusionError.invalidRequest("width and height must be positive multiples of \(scale)")
        }
        let (height, width) = (request.height / scale, request.width / scale)
        let channels = unet.inChannels
        let guided = request.guidance > 1
        let positive = encodePrompt(request.prompt, clipSkip: request.clipSkip, pool: pool)
        let negative = guided ? encodePrompt(request.negativePrompt, clipSkip: request.clipSkip, pool: pool) : []
        var generator = TorchGenerator(seed: request.seed)
        let noise = generator.normal(count: channels * height * width)
        let latents = try request.sampler.sample(
            noise: noise, steps: request.steps, schedule: schedule, generator: &generator,
            denoise: { input, timestep in
                let map = FeatureMap(channels: channels, height: height, width: width, values: input)
                let conditioned = try unet.predictNoise(
                    map, timestep: timestep, context: positive, pool: pool, checkpoint: checkpoint).values
                guard guided else { return conditioned }
                let unconditioned = try unet.predictNoise(
                    map, timestep: timestep, context: negative, pool: pool, checkpoint: checkpoint).values
                return zip(unconditioned, conditioned).map { u, c in u + request.guidance * (c - u) }
            },
            onStep: onStep)
        return FeatureMap(channels: channels, height: height, width: width, values: latents)
    }

    public func generate(
        _ request: ImageRequest, pool: ComputePool, shouldStop: () -> Bool = { false },
        onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> RGBImage {
        let latents = try generateLatents(request, pool: pool, shouldStop: shouldStop, onStep: onStep)
        func checkpoint() throws { if shouldStop() { throw DiffusionError.cancelled } }
        if request.fastDecode, let fastDecoder {
            return RGBImage(planes: try fastDecoder.decode(latents, pool: pool, checkpoint: checkpoint))
        }
        return RGBImage(planes: try decoder.decode(latents, pool: pool, checkpoint: checkpoint))
    }
}
