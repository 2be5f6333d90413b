import Foundation
import Hummingbird
import Logging

/// `POST /sd` and `POST /text2gif`: validated, admitted, drawn by a backend, answered as raw bytes
/// with the seed that made them in `X-Seed`.
struct ImageController: Sendable {
    typealias Context = AppRequestContext

    let reader: KeyedRequestReader
    let tickets: UsageTicket.Office
    let registry: ModelRegistry
    let metrics: ServerMetrics

    func addRoutes(to router: Router<Context>) {
        router.post("/sd", use: generateImage)
        router.post("/text2gif", use: generateGIF)
    }

    @Sendable func generateImage(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let (json, key) = try await reader.read(&request)
        let ticket = tickets.ticket(key: key, category: .image)
        return try await ticket.recordingFailures {
            ticket.setModel(json["model"]?.stringValue ?? "")
            let name = try ImageGenerationRequest.modelName(in: json)
            guard let model = registry.imageModel(named: name) else { throw APIError.unknownImageModel(name) }
            let image = try ImageGenerationRequest(json: json, defaults: model.defaults)
            try requireServable(model)
            if let sampler = image.sampler, !registry.samplers(of: model).contains(sampler) {
                throw APIError.invalidParameter(
                    "sampler", "Unknown sampler '\(sampler)' for model '\(image.model)'; GET /sd/samplers lists them.")
            }
            let known = registry.loras(of: model)
            if let unknown = image.loras.first(where: { !known.contains($0.name) }) {
                throw APIError.invalidParameter(
                    "loras", "Unknown LoRA '\(unknown.name)' for model '\(image.model)'; GET /sd/loras lists them.")
            }
            let departure = await ClientDeparture.of(context.channel)
            let media = try await generate(model: model, ticket: ticket, seed: image.seed, departure: departure,
                                           logger: context.logger) { backend, seed throws(BackendError) in
                try await backend.generateImage(image, seed: seed)
            }
            return .bytes(media.bytes, contentType: "image/png", headers: [.seed: String(media.seed)])
        }
    }

    @Sendable func generateGIF(_ request: Request, context: Context) async throws -> Response {
        var request = request
        let (json, key) = try await reader.read(&request)
        let ticket = tickets.ticket(key: key, category: .gif)
        return try await ticket.recordingFailures {
            let name = try GIFGenerationRequest.modelName(in: json)
            ticket.setModel(name ?? "")
            guard let model = registry.gifModel(named: name) else { throw APIError.unknownGIFModel(name) }
            let gif = try GIFGenerationRequest(json: json, defaults: model.defaults)
            ticket.setModel(model.name)
            try requireServable(model)
            let departure = await ClientDeparture.of(context.channel)
            let media = try await generate(model: model, ticket: ticket, seed: gif.seed, departure: departure,
                                           logger: context.logger) { backend, seed throws(BackendError) in
                try await backend.generateGIF(gif, seed: seed)
            }
            return .bytes(media.bytes, contentType: "image/gif", headers: [.seed: String(media.seed)])
        }
    }

    private func requireServable(_ model: ImageModel) throws(APIError) {
        guard model.pool.hasHealthyMember else {
            throw APIError.backendUnavailable("No backend for model '\(model.name)' is available right now.")
        }
    }

    /// Admits the request, runs it on the model's backends in turn, and records the outcome. A
    /// client that hangs up cancels the work (an embedded job leaves the queue or stops at its
    /// next step) and is recorded as having left.
    private func generate(
        model: ImageModel, ticket: UsageTicket, seed: UInt64?, departure: ClientDeparture?, logger: Logger,
        _ operation: @escaping @Sendable (any ImageBackend, UInt64) async throws(BackendError) -> GeneratedMedia
    ) async throws -> GeneratedMedia {
        let permit = try await ticket.admit()
        defer { permit.release() }
        // A seed the client did not choose is still reported, so a good picture can be made again.
        let seed = seed ?? UInt64.random(in: 0..<(1 << 32))
        let attempt = { @Sendable () async -> Result<GeneratedMedia, BackendError> in
            do throws(BackendError) {
                return .success(try await model.pool.withFailover { backend throws(BackendError) in
                    try await operation(backend, seed)
                })
            } catch {
                return .failure(error)
            }
        }
        let outcome: Result<GeneratedMedia, BackendError>
        if let departure {
            do {
                outcome = try await departure.cancellingOnDeparture { await attempt() }
            } catch {
                ticket.finish(status: UsageRecord.clientClosedStatus)
                logger.info("Client left before its image was done", metadata: ["model": "\(model.name)"])
                throw CancellationError()
            }
        } else {
            outcome = await attempt()
        }
        switch outcome {
        case .success(let media):
            ticket.finish(status: 200)
            return media
        case .failure(let error):
            error.report(model: model.name, metrics: metrics, logger: logger)
            throw error.apiError(rejectedParameter: "prompt")
        }
    }
}
