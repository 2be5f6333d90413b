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

    public init(threads: Int, queueCapacity: Int, decoder: Decoder = .vae) {
        self.threads = threads
        self.queueCapacity = queueCapacity
        self.decoder = decoder
    }
}
