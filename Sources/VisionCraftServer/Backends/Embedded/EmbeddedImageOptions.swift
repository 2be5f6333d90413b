import DiffusionEngine

/// How the embedded image engine runs: its threads, how many jobs may wait for them, and which
/// decoder turns latents into pixels.
public struct EmbeddedImageOptions: Sendable, Equatable {
    public enum Decoder: String, Codable, Sendable {
        /// The checkpoint's own VAE: the reference quality.
        case vae
        /// TAESD (`models/taesd/taesd_decoder.safetensors`) when present: many times faster.
        case taesd
    }

    public var threads: Int
    public var queueCapacity: Int
    public var decoder: Decoder
    /// What the UNet and VAE multiply in: `bfloat16` (the default where the CPU has vector paths
    /// for it: half the memory, several times the speed) or `float32` (exact).
    public var precision: Precision

    public init(threads: Int, queueCapacity: Int, decoder: Decoder = .vae, precision: Precision = .fastest) {
        self.threads = threads
        self.queueCapacity = queueCapacity
        self.decoder = decoder
        self.precision = precision
    }
}
