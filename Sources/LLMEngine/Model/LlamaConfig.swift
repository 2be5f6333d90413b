/// The shape of a decoder-only model of the Llama family or a relative (Llama 2/3, SmolLM2,
/// TinyLlama, Mistral, Qwen 2/3, Gemma 3), read from the GGUF metadata under its architecture's
/// prefix; what sets the architecture apart is `architecture`.
public struct LlamaConfig: Sendable, Equatable {
    public var architecture: ModelArchitecture
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    /// Values per query, key and value head: the embedding's share unless the file says otherwise
    /// (Gemma 3 270M: 256 with an embedding of 640 and four heads).
    public var headDimension: Int
    public var feedForwardLength: Int
    public var contextLength: Int
    public var vocabularySize: Int
    /// The RoPEs the layers use: one, or the global and the sliding-window layers' ones.
    public var rotations: [Rotation]
    /// Per layer: its RoPE (an index into `rotations`) and its attention window in positions
    /// (`nil`: every earlier position).
    public var layers: [Layer]
    public var rmsEpsilon: Float

    public struct Rotation: Sendable, Equatable {
        /// θ_i = scale · position · base^(−2i/d).
        public var base: Float
        /// 1 / the linear scaling factor; 1 without scaling.
        public var scale: Float
    }

    public struct Layer: Sendable, Equatable {
        public var rotation: Int
        public var window: Int?
    }

    /// Values per token of all query heads, and of all KV heads.
    public var queryWidth: Int { headDimension * headCount }
    public var kvDimension: Int { headDimension * kvHeadCount }
    public var rotaryStyle: ModelArchitecture.RotaryStyle { architecture.rotaryStyle }

    public init(file: GGUFFile) throws(GGUFError) {
        guard let name = file.metadata["general.architecture"]?.stringValue else {
            throw GGUFError.missingMetadata(path: file.path, key: "general.architecture")
        }
        guard let architecture = ModelArchitecture.supported[name] else {
            throw GGUFError.malformed(
                path: file.path,
                reason: "architecture '\(name)' is not supported (supported: \(ModelArchitecture.supported.keys.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String) throws(GGUFError) -> Int {
            guard let value = try file.required("\(name).\(key)").intValue else {
                throw GGUFError.malformed(path: file.path, reason: "'\(name).\(key)' is not an integer")
            }
            return value
        }
        func number(_ key: String) -> Float? { file.metadata["\(name).\(key)"]?.doubleValue.map { Float($0) } }
        self.architecture = architecture
        embeddingLength = try int("embedding_length")
        layerCount = try int("block_count")
        headCount = try int("attention.head_count")
        kvHeadCount = (try? int("attention.head_count_kv")) ?? headCount
        guard headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw GGUFError.malformed(path: file.path, reason: "inconsistent attention head counts")
        }
        headDimension = (try? int("attention.key_length")) ?? embeddingLength / headCount
        if let valueLength = try? int("attention.value_length"), valueLength != headDimension {
            throw GGUFError.malformed(path: file.path, reason: "value heads narrower or wider than key heads are not supported")
        }
        feedForwardLength = try int("feed_forward_length")
        contextLength = try int("context_length")
        vocabularySize = file.metadata["\(name).vocab_size"]?.intValue
            ?? file.metadata["tokenizer.ggml.tokens"]?.arrayCount ?? 0
        rmsEpsilon = number("attention.layer_norm_rms_epsilon") ?? 1e-5
        let base = number("rope.freq_base") ?? 10_000
        // Linear RoPE scaling (Gemma 3 4B and larger) stretches the global layers' positions.
        let linear = file.metadata["\(name).rope.scaling.type"]?.stringValue == "linear"
        let global = Rotation(base: base, scale: linear ? 1 / (number("rope.scaling.factor") ?? 1) : 1)
        let window = (try? int("attention.sliding_window")).flatMap { $0 > 0 ? $0 : nil }
        if let pattern = architecture.slidingWindowPattern, let window {
            rotations = [global, Rotation(base: architecture.slidingRopeBase ?? base, scale: 1)]
            layers = (0..<layerCount).map { index in
                index % pattern == pattern - 1 ? Layer(rotation: 0, window: nil) : Layer(rotation: 1, window: window)
            }
        } else {
            rotations = [global]
            layers = Array(repeating: Layer(rotation: 0, window: nil), count: layerCount)
        }
        guard embeddingLength % 32 == 0, feedForwardLength % 32 == 0 else {
            throw GGUFError.malformed(path: file.path, reason: "layer widths that are not multiples of 32 are not supported")
        }
        guard headDimension > 0, headDimension % 2 == 0, queryWidth % 32 == 0 else {
            throw GGUFError.malformed(path: file.path, reason: "attention heads of \(headDimension) values are not supported")
        }
    }
}
