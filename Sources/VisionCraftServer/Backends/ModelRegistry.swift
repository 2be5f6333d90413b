import Foundation
import NIOConcurrencyHelpers

/// A public chat model name and the backends that serve it.
public struct ChatModel: Sendable {
    public var name: String
    public var isVisionCapable: Bool
    public var pool: BackendPool<any ChatBackend>
}

/// A public image or GIF model name, the backends that serve it, and what a request that leaves
/// size, steps or guidance out gets.
public struct ImageModel: Sendable {
    public var name: String
    public var pool: BackendPool<any ImageBackend>
    public var defaults: ImageDefaults = .contract
}

/// Every model this server can route to, and what is servable right now.
public final class ModelRegistry: Sendable {
    public let chatModels: [ChatModel]
    public let imageModels: [ImageModel]
    public let gifModels: [ImageModel]
    /// Capabilities by backend id, for the image backends that answered their last check.
    private let capabilities = NIOLockedValueBox<[String: ImageCapabilities]>([:])

    public init(chatModels: [ChatModel], imageModels: [ImageModel], gifModels: [ImageModel]) {
        self.chatModels = chatModels
        self.imageModels = imageModels
        self.gifModels = gifModels
    }

    public func chatModel(named name: String) -> ChatModel? {
        chatModels.first { $0.name == name }
    }

    public var servableChatModels: [ChatModel] {
        chatModels.filter { $0.pool.hasHealthyMember }
    }

    public func imageModel(named name: String) -> ImageModel? {
        imageModels.first { $0.name == name }
    }

    public func gifModel(named name: String?) -> ImageModel? {
        guard let name else { return gifModels.first }
        return gifModels.first { $0.name == name }
    }

    /// Image models with at least one backend that answered and is not cooling down.
    public var servableImageModels: [String] {
        imageModels.filter { !servingCapabilities(of: $0).isEmpty }.map(\.name)
    }

    public var servableGIFModels: [String] {
        gifModels.filter { !servingCapabilities(of: $0).isEmpty }.map(\.name)
    }

    public var allSamplers: [String] {
        Self.union(imageModels.flatMap(servingCapabilities).map(\.samplers))
    }

    public var allLoRAs: [String] {
        Self.union(imageModels.flatMap(servingCapabilities).map(\.loras))
    }

    public func samplers(of model: ImageModel) -> Set<String> {
        Set(servingCapabilities(of: model).flatMap(\.samplers))
    }

    public func loras(of model: ImageModel) -> Set<String> {
        Set(servingCapabilities(of: model).flatMap(\.loras))
    }

    func servingCapabilities(of model: ImageModel) -> [ImageCapabilities] {
        let known = capabilities.withLockedValue { $0 }
        return model.pool.members.indices.compactMap { index in
            model.pool.isHealthy(index) ? known[model.pool.members[index].id] : nil
        }
    }

    /// Asks every image backend what it offers, and probes chat backends that are cooling down so
    /// they come back as soon as they answer.
    public func refresh() async {
        await withTaskGroup(of: Void.self) { group in
            for model in imageModels + gifModels {
                for (index, backend) in model.pool.members.enumerated() {
                    group.addTask {
                        do {
                            let found = try await backend.capabilities()
                            self.capabilities.withLockedValue { $0[backend.id] = found }
                            model.pool.reportSuccess(index)
                        } catch {
                            self.capabilities.withLockedValue { $0[backend.id] = nil }
                            model.pool.reportFailure(index)
                        }
                    }
                }
            }
            for model in chatModels {
                for (index, backend) in model.pool.members.enumerated() where !model.pool.isHealthy(index) {
                    group.addTask {
                        if await backend.probe() { model.pool.reportSuccess(index) }
                    }
                }
            }
        }
    }

    private static func union(_ lists: [[String]]) -> [String] {
        var seen = Set<String>()
        return lists.joined().filter { seen.insert($0).inserted }
    }
}
