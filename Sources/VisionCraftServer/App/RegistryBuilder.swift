import AsyncHTTPClient
import Foundation
import Logging
import NIOCore

/// Turns the configured model lists into backends. Backends missing their credentials are left
/// out with a log line, which is how the shipped catalogue stays dark until its key is set.
struct RegistryBuilder {
    let environment: [String: String]
    let clock: WallClock
    let logger: Logger
    /// One client per distinct timeout setting; clients pool connections per host themselves.
    private(set) var clients: [String: HTTPClient] = [:]
    /// Whole-answer clients of plain-HTTP chat upstreams, one per upstream and timeout setting.
    private(set) var loopLocalClients: [String: LoopLocalHTTPClient] = [:]

    init(environment: [String: String], clock: WallClock, logger: Logger) {
        self.environment = environment
        self.clock = clock
        self.logger = logger
    }

    mutating func build(_ configuration: ServerConfiguration, modelsDirectory: String? = nil) throws -> ModelRegistry {
        var chatModels: [ChatModel] = []
        let configured = Set((configuration.chatModels ?? []).map(\.name))
        if let modelsDirectory {
            // Every GGUF in the models folder, unless the configuration routes that name elsewhere.
            for (name, backend) in EmbeddedModels.load(
                directory: modelsDirectory, options: configuration.embeddedEngine, logger: logger)
            where !configured.contains(name) {
                chatModels.append(ChatModel(
                    name: name, isVisionCapable: false, pool: BackendPool(members: [backend], clock: clock)))
            }
        }
        for entry in configuration.chatModels ?? [] {
            let backends = try entry.backends.compactMap { try chatBackend(entry.name, $0) }
            guard !backends.isEmpty else { continue }
            chatModels.append(ChatModel(
                name: entry.name, isVisionCapable: entry.vision ?? false,
                pool: BackendPool(members: backends, clock: clock)))
        }
        var imageModels: [ImageModel] = [], gifModels: [ImageModel] = []
        let entries = configuration.imageModels ?? [], gifEntries = configuration.gifModels ?? []
        let configuredImages = Set(entries.filter { !$0.backends.isEmpty }.map(\.name))
        let configuredGIFs = Set(gifEntries.filter { !$0.backends.isEmpty }.map(\.name))
        if let modelsDirectory {
            // Every checkpoint in models/sd and motion module in models/motion, unless the
            // configuration routes that name elsewhere; an entry with its name and no backends
            // sets its defaults (and a GIF model's checkpoint).
            let images = EmbeddedImageModels.load(
                modelsDirectory: modelsDirectory, options: configuration.embeddedImages, logger: logger)
            for (name, backend) in images where !configuredImages.contains(name) {
                let configured = try entries.first { $0.name == name && $0.backends.isEmpty }?.defaults?.validated(model: name)
                imageModels.append(ImageModel(
                    name: name, pool: BackendPool(members: [backend], clock: clock),
                    defaults: configured ?? backend.suggestedDefaults))
            }
            let settings = { (name: String) in gifEntries.first { $0.name == name && $0.backends.isEmpty } }
            for (name, backend) in EmbeddedImageModels.gifs(
                modelsDirectory: modelsDirectory, images: images, options: configuration.embeddedImages,
                checkpoint: { settings($0)?.checkpoint }, logger: logger)
            where !configuredGIFs.contains(name) {
                let configured = try settings(name)?.defaults?.validated(model: name)
                gifModels.append(ImageModel(
                    name: name, pool: BackendPool(members: [backend], clock: clock), defaults: configured ?? .animateDiff))
            }
        }
        imageModels += try entries.compactMap { try imageModel($0, defaults: .contract) }
        gifModels += try gifEntries.compactMap { try imageModel($0, defaults: .upstreamAnimateDiff) }
        return ModelRegistry(chatModels: chatModels, imageModels: imageModels, gifModels: gifModels)
    }

    private mutating func imageModel(_ entry: ServerConfiguration.ImageModelEntry, defaults: ImageDefaults) throws -> ImageModel? {
        let backends = try entry.backends.compactMap { try imageBackend(entry.name, $0) }
        guard !backends.isEmpty else { return nil }
        return ImageModel(
            name: entry.name, pool: BackendPool(members: backends, clock: clock),
            defaults: try entry.defaults?.validated(model: entry.name) ?? defaults)
    }

    private mutating func chatBackend(_ model: String, _ entry: ServerConfiguration.UpstreamEntry) throws
        -> (any ChatBackend)?
    {
        guard entry.kind == "openai" else {
            throw ConfigurationError("Chat model '\(model)': backend kind '\(entry.kind)' is not a chat backend (use 'openai').")
        }
        guard let upstreamModel = entry.model else {
            throw ConfigurationError("Chat model '\(model)': an 'openai' backend needs 'model', the upstream model id.")
        }
        guard let endpoint = endpoint(model, entry) else { return nil }
        return OpenAICompatibleChatBackend(
            endpoint: endpoint, upstreamModel: upstreamModel,
            sendsSamplingExtensions: entry.sendSamplingExtensions ?? true, client: client(for: entry, readDefault: 120),
            wholeAnswerClient: loopLocalClient(for: entry, endpoint: endpoint, readDefault: 120))
    }

    private mutating func imageBackend(_ model: String, _ entry: ServerConfiguration.UpstreamEntry) throws
        -> (any ImageBackend)?
    {
        guard ["a1111", "comfyui", "openai"].contains(entry.kind) else {
            throw ConfigurationError(
                "Image model '\(model)': backend kind '\(entry.kind)' is not an image backend (use 'a1111', 'comfyui' or 'openai').")
        }
        if entry.kind != "a1111" && entry.model == nil {
            throw ConfigurationError("Image model '\(model)': a '\(entry.kind)' backend needs 'model' (\(entry.kind == "comfyui" ? "the checkpoint file ComfyUI loads" : "the upstream model id")).")
        }
        guard let endpoint = endpoint(model, entry) else { return nil }
        let client = client(for: entry, readDefault: 600)
        switch entry.kind {
        case "comfyui":
            return ComfyUIImageBackend(endpoint: endpoint, checkpoint: entry.model!, client: client)
        case "openai":
            return OpenAIImageBackend(endpoint: endpoint, upstreamModel: entry.model!,
                                      sendsExtensions: entry.sendSamplingExtensions ?? false, client: client)
        default:
            return A1111ImageBackend(endpoint: endpoint, checkpoint: entry.model, motionModule: entry.motionModule, client: client)
        }
    }

    private func endpoint(_ model: String, _ entry: ServerConfiguration.UpstreamEntry) -> UpstreamEndpoint? {
        var apiKey: String?
        if let variable = entry.apiKeyEnv {
            guard let value = environment[variable], !value.isEmpty else {
                logger.debug("Backend left out: its key variable is unset", metadata: ["model": "\(model)", "variable": "\(variable)"])
                return nil
            }
            apiKey = value
        }
        return UpstreamEndpoint(
            baseURL: entry.baseUrl, apiKey: apiKey,
            requestTimeout: .milliseconds(Int64((entry.requestTimeoutSeconds ?? 600) * 1000)))
    }

    private mutating func loopLocalClient(
        for entry: ServerConfiguration.UpstreamEntry, endpoint: UpstreamEndpoint, readDefault: Double
    ) -> LoopLocalHTTPClient? {
        guard let target = endpoint.plainHTTP else { return nil }
        let (connect, read) = timeouts(entry, readDefault: readDefault)
        let key = "\(target.host):\(target.port)/\(connect)/\(read)"
        if let client = loopLocalClients[key] { return client }
        let client = LoopLocalHTTPClient(host: target.host, port: target.port, connectTimeout: connect, readTimeout: read)
        loopLocalClients[key] = client
        return client
    }

    private func timeouts(_ entry: ServerConfiguration.UpstreamEntry, readDefault: Double) -> (TimeAmount, TimeAmount) {
        (.milliseconds(Int64((entry.connectTimeoutSeconds ?? 5) * 1000)),
         .milliseconds(Int64((entry.readTimeoutSeconds ?? readDefault) * 1000)))
    }

    private mutating func client(for entry: ServerConfiguration.UpstreamEntry, readDefault: Double) -> HTTPClient {
        let (connect, read) = timeouts(entry, readDefault: readDefault)
        let key = "\(connect)/\(read)"
        if let client = clients[key] { return client }
        let client = HTTPClient.upstream(connectTimeout: connect, readTimeout: read)
        clients[key] = client
        return client
    }
}
