/// The shape of a Llama-family model (Llama 2/3, SmolLM2, TinyLlama, Mistral, Qwen2), read from
/// the GGUF metadata under its architecture's prefix.
public struct LlamaConfig: Sendable, Equatable {
    public var architecture: String
    public var embeddingLength: Int
    public var layerCount: Int
    public var headCount: Int
    public var kvHeadCount: Int
    public var feedForwardLength: Int
    public var contextLength: Int
    public var vocabularySize: Int
    public var ropeFrequencyBase: Float
    public var rmsEpsilon: Float
    public var rotaryStyle: RotaryStyle

    /// Which values of a head RoPE rotates together: llama.cpp's converter permutes Llama's Q and
    /// K so that pairs are adjacent; Qwen2 keeps the original layout, pairs half a head apart.
    public enum RotaryStyle: Sendable, Equatable {
        case adjacentPairs
        case halves
    }

    public var headDimension: Int { embeddingLength / headCount }
    public var kvDimension: Int { headDimension * kvHeadCount }

    public static let supportedArchitectures: Set = ["llama", "qwen2"]

    public init(file: GGUFFile) throws(GGUFError) {
        guard let architecture = file.metadata["general.architecture"]?.stringValue else {
            throw GGUFError.missingMetadata(path: file.path, key: "general.architecture")
        }
        guard Self.supportedArchitectures.contains(architecture) else {
            throw GGUFError.malformed(
                path: file.path,
                reason: "architecture '\(architecture)' is not supported (supported: \(Self.supportedArchitectures.sorted().joined(separator: ", ")))")
        }
        func int(_ key: String) throws(GGUFError) -> Int {
            guard let value = try file.required("\(architecture).\(key)").intValue else {
                throw GGUFError.malformed(path: file.path, reason: "'\(architecture).\(key)' is not an integer")
            }
            return value
        }
        self.architecture = architecture
        embeddingLength = try int("embedding_length")
        layerCount = try int("block_count")
        headCount = try int("attention.head_count")
        kvHeadCount = (try? int("attention.head_count_kv")) ?? headCount
        feedForwardLength = try int("feed_forward_length")
        contextLength = try int("context_length")
        vocabularySize = file.metadata["\(architecture).vocab_size"]?.intValue
            ?? file.metadata["tokenizer.ggml.tokens"]?.arrayValue?.count ?? 0
        ropeFrequencyBase = Float(file.metadata["\(architecture).rope.freq_base"]?.doubleValue ?? 10_000)
        rmsEpsilon = Float(file.metadata["\(architecture).attention.layer_norm_rms_epsilon"]?.doubleValue ?? 1e-5)
        rotaryStyle = architecture == "qwen2" ? .halves : .adjacentPairs
        guard embeddingLength % 32 == 0, feedForwardLength % 32 == 0 else {
            throw GGUFError.malformed(path: file.path, reason: "layer widths that are not multiples of 32 are not supported")
        }
        guard headCount > 0, kvHeadCount > 0, headCount % kvHeadCount == 0, embeddingLength % headCount == 0 else {
            throw GGUFError.malformed(path: file.path, reason: "inconsistent attention head counts")
        }
    }
}
