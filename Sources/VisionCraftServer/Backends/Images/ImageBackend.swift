/// Bytes of a generated picture or animation, and the seed that made them.
public struct GeneratedMedia: Sendable, Equatable {
    public var bytes: [UInt8]
    public var seed: UInt64

    public init(bytes: [UInt8], seed: UInt64) {
        self.bytes = bytes
        self.seed = seed
    }
}

/// What an image backend can do right now, as it reports it.
public struct ImageCapabilities: Sendable, Equatable {
    public var samplers: [String]
    public var loras: [String]

    public init(samplers: [String], loras: [String]) {
        self.samplers = samplers
        self.loras = loras
    }
}

/// Anything that draws: an upstream AUTOMATIC1111/Forge server or an embedded diffusion engine.
public protocol ImageBackend: Sendable {
    var id: String { get }
    func capabilities() async throws(BackendError) -> ImageCapabilities
    /// A PNG.
    func generateImage(_ request: ImageGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia
    /// An animated GIF.
    func generateGIF(_ request: GIFGenerationRequest, seed: UInt64) async throws(BackendError) -> GeneratedMedia
}
