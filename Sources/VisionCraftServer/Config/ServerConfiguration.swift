import DiffusionEngine
import Foundation
import LLMEngine
import NIOCore

/// The operator's configuration file (JSON, snake_case keys). Every field is optional; what is
/// left out takes the defaults documented in the README.
public struct ServerConfiguration: Codable, Sendable {
    public var server: ServerSection?
    public var tiers: TierPolicies?
    public var chatModels: [ChatModelEntry]?
    public var imageModels: [ImageModelEntry]?
    public var gifModels: [ImageModelEntry]?
    /// The Telegram bot; absent, the server runs without one.
    public var telegram: TelegramSettings?

    public init(
        server: ServerSection? = nil, tiers: TierPolicies? = nil, chatModels: [ChatModelEntry]? = nil,
        imageModels: [ImageModelEntry]? = nil, gifModels: [ImageModelEntry]? = nil
    ) {
        self.server = server
        self.tiers = tiers
        self.chatModels = chatModels
        self.imageModels = imageModels
        self.gifModels = gifModels
    }

    public struct ServerSection: Codable, Sendable {
        public var host: String?
        public var port: Int?
        public var maxBodyBytes: Int?
        public var shutdownGraceSeconds: Int?
        /// How often image backends are asked what they offer and failed backends are probed.
        public var backendCheckSeconds: Int?
        /// How long a key lookup is remembered; the delay before a change made by the CLI or
        /// another replica is seen.
        public var keyCacheMilliseconds: Int?
        /// Tokens each embedded-model sequence can hold, prompt and answer together.
        public var contextLength: Int?
        /// Sequences an embedded model generates at once; with `context_length`, the bound on
        /// its KV-cache memory. Later requests wait for a free one.
        public var engineSequences: Int?
        /// Threads an embedded model computes with; the machine's cores when absent.
        public var engineThreads: Int?
        /// `blockwise` (the default, fastest) or `llama-cpp` (llama.cpp's summation order: output
        /// identical to llama.cpp's, batches about half as fast).
        public var engineProductOrder: ProductOrder?
        /// Longest wait from a request's first byte to the end of its head.
        public var headerTimeoutSeconds: Double?
        /// Longest a connection may stay open with no request in progress.
        public var keepAliveTimeoutSeconds: Double?
        /// Time a body may take before `min_body_bytes_per_second` applies.
        public var bodyTimeoutSeconds: Double?
        /// The average rate a body must keep up after that.
        public var minBodyBytesPerSecond: Int?
        /// Body bytes held at once for requests whose key is in the body (`token`), not yet checked.
        public var unauthenticatedBodyBytes: Int?
        /// Threads the embedded image engine computes with; `engine_threads` when absent.
        public var imageThreads: Int?
        /// Image jobs that may wait behind the running one; more are answered 503 at once.
        public var imageQueue: Int?
        /// `vae` (default) or `taesd`: decode embedded images with TAESD when its weights are in
        /// `models/taesd/`.
        public var imageDecoder: EmbeddedImageOptions.Decoder?
        /// `bfloat16` or `float32`: what embedded image models multiply in (default: BF16 where the
        /// CPU has AVX2 or better).
        public var imagePrecision: Precision?
        /// `postgres://user:password@host:5432/db?sslmode=…` for replicas sharing PostgreSQL;
        /// absent, SQLite under the data directory. `--database` and `VISIONCRAFT_DATABASE_URL`
        /// take precedence.
        public var database: String?
        /// With PostgreSQL: how long a running generation's slot outlives its replica.
        public var generationLeaseSeconds: Double?
        /// With PostgreSQL: connections each replica keeps to it (default 8).
        public var databaseConnections: Int?

        public init(host: String? = nil, port: Int? = nil, maxBodyBytes: Int? = nil,
                    shutdownGraceSeconds: Int? = nil, backendCheckSeconds: Int? = nil, keyCacheMilliseconds: Int? = nil) {
            self.keyCacheMilliseconds = keyCacheMilliseconds
            self.host = host
            self.port = port
            self.maxBodyBytes = maxBodyBytes
            self.shutdownGraceSeconds = shutdownGraceSeconds
            self.backendCheckSeconds = backendCheckSeconds
        }
    }

    public struct ChatModelEntry: Codable, Sendable {
        public var name: String
        public var vision: Bool?
        public var backends: [UpstreamEntry]

        public init(name: String, vision: Bool? = nil, backends: [UpstreamEntry]) {
            self.name = name
            self.vision = vision
            self.backends = backends
        }
    }

    public struct ImageModelEntry: Codable, Sendable {
        public var name: String
        public var backends: [UpstreamEntry]
        /// What requests that leave width, height, steps, cfg_scale or sampler out get; the API's
        /// defaults (1024², 35 steps, cfg 7) when absent.
        public var defaults: ImageDefaults?
        /// An embedded GIF model (named after its motion module in `models/motion`): the checkpoint
        /// in `models/sd` it animates; absent, the first SD 1.x one.
        public var checkpoint: String?

        public init(name: String, backends: [UpstreamEntry], defaults: ImageDefaults? = nil, checkpoint: String? = nil) {
            self.name = name
            self.backends = backends
            self.defaults = defaults
            self.checkpoint = checkpoint
        }
    }

    /// One upstream server for one model.
    public struct UpstreamEntry: Codable, Sendable {
        /// `openai` for chat servers, `a1111` for image servers.
        public var kind: String
        public var baseUrl: String
        /// The model id upstream (chat) or the checkpoint title (images).
        public var model: String?
        /// Name of the environment variable holding the upstream's API key. A backend whose
        /// variable is unset is left out, so its models are not listed.
        public var apiKeyEnv: String?
        public var sendSamplingExtensions: Bool?
        public var motionModule: String?
        public var connectTimeoutSeconds: Double?
        /// Longest silence tolerated while a response streams.
        public var readTimeoutSeconds: Double?
        /// Longest wait for an upstream to start answering.
        public var requestTimeoutSeconds: Double?

        public init(
            kind: String, baseUrl: String, model: String? = nil, apiKeyEnv: String? = nil,
            sendSamplingExtensions: Bool? = nil, motionModule: String? = nil, connectTimeoutSeconds: Double? = nil,
            readTimeoutSeconds: Double? = nil, requestTimeoutSeconds: Double? = nil
        ) {
            self.kind = kind
            self.baseUrl = baseUrl
            self.model = model
            self.apiKeyEnv = apiKeyEnv
            self.sendSamplingExtensions = sendSamplingExtensions
            self.motionModule = motionModule
            self.connectTimeoutSeconds = connectTimeoutSeconds
            self.readTimeoutSeconds = readTimeoutSeconds
            self.requestTimeoutSeconds = requestTimeoutSeconds
        }
    }

    public var host: String { server?.host ?? "127.0.0.1" }
    public var port: Int { server?.port ?? 8080 }
    public var maxBodyBytes: Int { server?.maxBodyBytes ?? 20 * 1024 * 1024 }
    public var shutdownGraceSeconds: Int { server?.shutdownGraceSeconds ?? 30 }
    public var backendCheckSeconds: Int { server?.backendCheckSeconds ?? 30 }
    public var keyCacheMilliseconds: Int { server?.keyCacheMilliseconds ?? 1000 }
    public var generationLeaseSeconds: Double { max(3, server?.generationLeaseSeconds ?? 30) }
    public var embeddedEngine: EmbeddedEngineOptions {
        EmbeddedEngineOptions(
            contextLength: server?.contextLength ?? 2048, sequences: server?.engineSequences ?? 8,
            threads: server?.engineThreads ?? ProcessInfo.processInfo.activeProcessorCount,
            productOrder: server?.engineProductOrder ?? .blockwise)
    }
    public var embeddedImages: EmbeddedImageOptions {
        EmbeddedImageOptions(
            threads: server?.imageThreads ?? embeddedEngine.threads, queueCapacity: max(1, server?.imageQueue ?? 4),
            decoder: server?.imageDecoder ?? .vae, precision: server?.imagePrecision ?? .fastest)
    }
    public var tierPolicies: TierPolicies { tiers ?? .defaults }
    /// At least one largest body, so a key sent in the body always works on an idle server.
    public var unauthenticatedBodyBytes: Int { max(server?.unauthenticatedBodyBytes ?? 32 * 1024 * 1024, maxBodyBytes) }
    public var connectionTimeouts: ConnectionTimeouts {
        let defaults = ConnectionTimeouts()
        func amount(_ seconds: Double?, _ fallback: TimeAmount) -> TimeAmount {
            seconds.map { .nanoseconds(Int64($0 * 1e9)) } ?? fallback
        }
        return ConnectionTimeouts(
            header: amount(server?.headerTimeoutSeconds, defaults.header),
            keepAlive: amount(server?.keepAliveTimeoutSeconds, defaults.keepAlive),
            bodyGrace: amount(server?.bodyTimeoutSeconds, defaults.bodyGrace),
            minimumBodyRate: server?.minBodyBytesPerSecond ?? defaults.minimumBodyRate)
    }

    public static func load(path: String) throws -> ServerConfiguration {
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw ConfigurationError("Cannot read the configuration file \(path): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(ServerConfiguration.self, from: data)
        } catch let DecodingError.keyNotFound(key, context) {
            throw ConfigurationError("\(path): missing '\(Self.snakeCase(key.stringValue))' at \(Self.describe(context.codingPath)).")
        } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
            throw ConfigurationError("\(path): wrong type at \(Self.describe(context.codingPath)).")
        } catch let DecodingError.dataCorrupted(context) where !context.codingPath.isEmpty {
            throw ConfigurationError("\(path): invalid value at \(Self.describe(context.codingPath)).")
        } catch {
            throw ConfigurationError("\(path) is not valid JSON: \(error)")
        }
    }

    /// Where in the file, spelled as the file spells its keys.
    static func describe(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? snakeCase($0.stringValue) }.joined(separator: ".")
    }

    /// `engineProductOrder` → `engine_product_order`: the decoder reports keys as Swift names them.
    static func snakeCase(_ key: String) -> String {
        key.reduce(into: "") { result, character in
            if character.isUppercase { result += "_" + character.lowercased() } else { result.append(character) }
        }
    }
}

public struct ConfigurationError: Error, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
