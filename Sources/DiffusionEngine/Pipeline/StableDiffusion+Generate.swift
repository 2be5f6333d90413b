import LLMEngine

extension StableDiffusionModel {
    /// What the UNet is conditioned on for one prompt: the text rows it attends to and, for SDXL,
    /// the extra conditioning vector (pooled text, image sizes).
    public struct Conditioning: Sendable {
        public var context: [Float]
        public var labels: [Float]?
    }

    /// The text encoder's rows for a prompt, as AUTOMATIC1111 makes them: each 75-token chunk
    /// (`PromptChunks`) encoded on its own, its rows scaled by their tokens' emphasis and the whole
    /// chunk rescaled to keep its mean, the chunks' rows one after another (77 per chunk). A prompt
    /// of at most 75 tokens without emphasis gives exactly diffusers' embedding.
    public func encodePrompt(_ text: String, clipSkip: Int = 1, pool: ComputePool) -> [Float] {
        (try? condition(on: text, clipSkip: clipSkip, width: 0, height: 0, pool: pool).context) ?? []
    }

    /// The conditioning for a prompt (rows as `encodePrompt` describes). SDXL's rows join both
    /// encoders' penultimate states; its labels are the first chunk's pooled text then the
    /// sinusoids of the original size, the crop corner (0, 0) and the target size, as AUTOMATIC1111
    /// and diffusers give them for an uncropped image. An empty negative prompt is zeros there, as
    /// both do for SDXL.
    public func condition(
        on text: String, clipSkip: Int = 1, width: Int, height: Int, negative: Bool = false, pool: ComputePool
    ) throws(DiffusionError) -> Conditioning {
        let width1 = textEncoder.width, rowWidth = unet.contextWidth
        var rows: [Float] = [], pooled: [Float]?
        for chunk in PromptChunks(text, tokenizer: tokenizer).chunks {
            var z: [Float]
            switch family {
            case .sd1:
                z = textEncoder.encode(chunk.tokens, skip: max(0, clipSkip - 1), pool: pool)
            case .sd2:
                // SD 2.x reads its penultimate layer whatever the clip skip (as AUTOMATIC1111 does).
                z = textEncoder.encode(Self.paddedWithZeros(chunk.tokens), skip: textEndsAtPenultimate ? 0 : 1, pool: pool)
            case .sdxl:
                guard let textEncoder2 else { throw .missingTensor("conditioner.embedders.1.model") }
                let first = textEncoder.hidden(
                    chunk.tokens, layers: max(1, textEncoder.layerCount - clipSkip), pool: pool)
                let (second, chunkPooled) = try textEncoder2.hiddenAndPooled(
                    Self.paddedWithZeros(chunk.tokens), layers: max(1, textEncoder2.layerCount - clipSkip), pool: pool)
                if pooled == nil { pooled = chunkPooled }
                z = []
                z.reserveCapacity(chunk.tokens.count * rowWidth)
                for row in chunk.tokens.indices {
                    z += first[row * width1..<(row + 1) * width1]
                    z += second[row * textEncoder2.width..<(row + 1) * textEncoder2.width]
                }
            }
            if chunk.weights.contains(where: { $0 != 1 }) {
                let before = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
                for (row, weight) in chunk.weights.enumerated() {
                    for i in row * rowWidth..<(row + 1) * rowWidth { z[i] *= weight }
                }
                let after = z.reduce(0.0) { $0 + Double($1) } / Double(z.count)
                let ratio = Float(before / after)
                for i in z.indices { z[i] *= ratio }
            }
            rows += z
        }
        guard family == .sdxl, var pooled, let labelWidth = unet.labelWidth else { return Conditioning(context: rows) }
        if negative && text.isEmpty {
            rows = [Float](repeating: 0, count: rows.count)
            pooled = [Float](repeating: 0, count: pooled.count)
        }
        let sizeWidth = (labelWidth - pooled.count) / 6
        var labels = pooled
        for value in [height, width, 0, 0, height, width] {
            labels += UNetModel.timestepEmbedding(Float(value), dimension: sizeWidth)
        }
        return Conditioning(context: rows, labels: labels)
    }

    /// OpenCLIP's padding: "!" (0) after the end mark.
    static func paddedWithZeros(_ tokens: [Int32]) -> [Int32] {
        guard let end = tokens.firstIndex(of: CLIPTokenizer.endOfText) else { return tokens }
        var padded = tokens
        for i in (end + 1)..<padded.count { padded[i] = 0 }
        return padded
    }

    /// The latents for `request`, from the seed's noise to the sampler's last step. `onStep`
    /// runs after each step (throw from it to stop); `shouldStop` is asked between the network's
    /// blocks, and stops the work with `DiffusionError.cancelled`.
    public func generateLatents(
        _ request: ImageRequest, pool: ComputePool, shouldStop: () -> Bool = { false },
        onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> FeatureMap {
        try sampleFrames(request, count: 1, motion: nil, pool: pool, shouldStop: shouldStop, onStep: onStep)[0]
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
        return try picture(latents, fast: request.fastDecode, pool: pool, shouldStop: shouldStop)
    }

    /// Latents decoded: by TAESD when `fast` and present, else by the VAE.
    func picture(_ latents: FeatureMap, fast: Bool, pool: ComputePool, shouldStop: () -> Bool) throws -> RGBImage {
        func checkpoint() throws { if shouldStop() { throw DiffusionError.cancelled } }
        if fast, let fastDecoder {
            return RGBImage(planes: try fastDecoder.decode(latents, pool: pool, checkpoint: checkpoint))
        }
        return RGBImage(planes: try decoder.decode(latents, pool: pool, checkpoint: checkpoint))
    }
}
