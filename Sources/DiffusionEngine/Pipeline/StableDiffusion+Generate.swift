import LLMEngine

extension StableDiffusionModel {
    /// The text encoder's rows for a prompt, as AUTOMATIC1111 makes them: each 75-token chunk
    /// (`PromptChunks`) encoded on its own, its rows scaled by their tokens' emphasis and the whole
    /// chunk rescaled to keep its mean, the chunks' rows one after another (77 per chunk). A prompt
    /// of at most 75 tokens without emphasis gives exactly diffusers' embedding.
    public func encodePrompt(_ text: String, clipSkip: Int = 1, pool: ComputePool) -> [Float] {
        let width = textEncoder.width
        var rows: [Float] = []
        for chunk in PromptChunks(text, tokenizer: tokenizer).chunks {
            var tokens = chunk.tokens
            var skip = max(0, clipSkip - 1)
            if family == .sd2 {
                // OpenCLIP pads with "!" (0) after the end mark, and SD 2.x reads its penultimate
                // layer whatever the clip skip (as AUTOMATIC1111 does).
                if let end = tokens.firstIndex(of: CLIPTokenizer.endOfText) {
                    for i in (end + 1)..<tokens.count { tokens[i] = 0 }
                }
                skip = 1
            }
            var z = textEncoder.encode(tokens, skip: skip, pool: pool)
            if chunk.weights.contains(where: { $0 != 1 }) {
                let before = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
                for (row, weight) in chunk.weights.enumerated() {
                    for i in row * width..<(row + 1) * width { z[i] *= weight }
                }
                let after = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
                let ratio = Float(before / after)
                for i in z.indices { z[i] *= ratio }
            }
            rows += z
        }
        return rows
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
            noise: noise, steps: request.steps, schedule: schedule, generator: &generator, prediction: prediction,
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

    /// The image for `request`, with its LoRAs applied to a copy of the model for this image only.
    public func generate(
        _ request: ImageRequest, pool: ComputePool, shouldStop: () -> Bool = { false },
        onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> RGBImage {
        if !request.loras.isEmpty {
            var plain = request
            plain.loras = []
            return try applying(request.loras.map { ($0.file, $0.weight) }, pool: pool)
                .generate(plain, pool: pool, shouldStop: shouldStop, onStep: onStep)
        }
        let latents = try generateLatents(request, pool: pool, shouldStop: shouldStop, onStep: onStep)
        func checkpoint() throws { if shouldStop() { throw DiffusionError.cancelled } }
        if request.fastDecode, let fastDecoder {
            return RGBImage(planes: try fastDecoder.decode(latents, pool: pool, checkpoint: checkpoint))
        }
        return RGBImage(planes: try decoder.decode(latents, pool: pool, checkpoint: checkpoint))
    }
}
