import Foundation
import Hummingbird
import Logging

/// `POST /sd` and `POST /text2gif`: validated, admitted, drawn by a backend, answered as raw bytes
/// with the seed that made them in `X-Seed`.
struct ImageController<Context: RequestContext>: Sendable {
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
            let image = try ImageGenerationRequest(json: json)
            guard let model = registry.imageModel(named: image.model) else {
                throw APIError.unknownModel(image.model)
            }
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
            let media = try await generate(model: model, ticket: ticket, seed: image.seed, logger: context.logger) { backend, seed throws(BackendError) in
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
            let gif = try GIFGenerationRequest(json: json)
            guard let model = registry.gifModel(named: gif.model) else {
                if let name = gif.model { throw APIError.unknownModel(name) }
                throw APIError.backendUnavailable("No GIF model is configured on this server.")
            }
            ticket.setModel(model.name)
            try requireServable(model)
            let media = try await generate(model: model, ticket: ticket, seed: gif.seed, logger: context.logger) { backend, seed throws(BackendError) in
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

    /// Admits the request, runs it on the model's backends in turn, and records the outcome.
    private func generate(
        model: ImageModel, ticket: UsageTicket, seed: UInt64?, logger: Logger,
        _ operation: (any ImageBackend, UInt64) async throws(BackendError) -> GeneratedMedia
    ) async throws -> GeneratedMedia {
        let permit = try ticket.admit()
        defer { permit.release() }
        // A seed the client did not choose is still reported, so a good picture can be made again.
        let seed = seed ?? UInt64.random(in: 0..<(1 << 32))
        do throws(BackendError) {
            let media = try await model.pool.withFailover { backend throws(BackendError) in
                try await operation(backend, seed)
            }
            ticket.finish(status: 200)
            return media
        } catch {
            error.report(model: model.name, metrics: metrics, logger: logger)
            throw error.apiError(rejectedParameter: "prompt")
        }
    }
}
