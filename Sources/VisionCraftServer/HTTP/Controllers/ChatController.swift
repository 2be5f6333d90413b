import HTTPTypes
import Foundation
import Hummingbird
import Logging

/// `POST /v1/chat/completions`: where a chat request enters, is checked, and is handed to a backend.
/// `POST /v1/completions` (a prompt to continue, OpenAI's older API that vLLM and llama.cpp's
/// server keep) takes the same way, with the same limits and usage, and answers in its own shape.
struct ChatController: Sendable {
    typealias Context = AppRequestContext
    let reader: KeyedRequestReader
    let tickets: UsageTicket.Office
    let registry: ModelRegistry
    let metrics: ServerMetrics
    let clock: WallClock

    func addRoutes(to router: Router<Context>) {
        router.post("/v1/chat/completions") { request, context in try await complete(request, context: context, kind: .chat) }
        router.post("/v1/completions") { request, context in try await complete(request, context: context, kind: .text) }
    }

    func complete(_ request: Request, context: Context, kind: ChatCompletionWire.Kind) async throws -> Response {
        var request = request
        let (json, key) = try await reader.read(&request)
        let ticket = tickets.ticket(key: key, category: .chat)
        let (chat, permit, events) = try await ticket.recordingFailures {
            ticket.setModel(json["model"]?.stringValue ?? "")
            let chat = kind == .chat ? try ChatCompletionRequest(json: json) : try ChatCompletionRequest(completionJSON: json)
            guard let model = registry.chatModel(named: chat.model) else {
                throw APIError.unknownModel(chat.model)
            }
            if chat.hasImages && !model.isVisionCapable {
                throw APIError.invalidParameter(
                    "messages", "The model '\(chat.model)' does not accept images; send text only or use a vision model.")
            }
            let permit = try await ticket.admit()
            do throws(BackendError) {
                let events = try await model.pool.withFailover { backend throws(BackendError) in
                    try await backend.startChat(chat)
                }
                return (chat, permit, events)
            } catch {
                permit.release()
                error.report(model: chat.model, metrics: metrics, logger: context.logger)
                throw error.apiError(rejectedParameter: kind == .chat ? "messages" : "prompt")
            }
        }
        let wire = ChatCompletionWire(model: chat.model, now: clock.now(), kind: kind)
        if chat.stream {
            return streamingResponse(chat: chat, events: events, wire: wire, ticket: ticket, permit: permit,
                                     departure: await ClientDeparture.of(context.channel), requestID: context.id,
                                     logger: context.logger)
        }
        defer { permit.release() }
        return try await wholeResponse(chat: chat, events: events, wire: wire, ticket: ticket, logger: context.logger)
    }

    private func wholeResponse(
        chat: ChatCompletionRequest, events: ChatEventStream, wire: ChatCompletionWire, ticket: UsageTicket,
        logger: Logger
    ) async throws -> Response {
        var tokens = TokenCount()
        var content = ""
        var finishReason = "stop"
        do {
            for try await event in events {
                tokens.observe(event)
                switch event {
                case .delta(let text): content += text
                case .finished(let reason): finishReason = reason
                case .promptTokens, .usage: break
                }
            }
        } catch {
            ticket.addTokens(prompt: tokens.prompt, completion: tokens.completion)
            let failure = (error as? BackendError) ?? BackendError(.failed, "The backend failed.", detail: "\(error)")
            failure.report(model: chat.model, metrics: metrics, logger: logger)
            let apiError = failure.apiError()
            ticket.finish(status: apiError.status.code)
            throw apiError
        }
        ticket.addTokens(prompt: tokens.prompt, completion: tokens.completion)
        ticket.finish(status: 200)
        return .json(wire.completion(content: content, finishReason: finishReason, usage: tokens))
    }

    private func streamingResponse(
        chat: ChatCompletionRequest, events: ChatEventStream, wire: ChatCompletionWire, ticket: UsageTicket,
        permit: AdmissionPermit, departure: ClientDeparture?, requestID: String, logger: Logger
    ) -> Response {
        let headers: HTTPFields = [
            .contentType: "text/event-stream", .cacheControl: "no-cache", HTTPField.Name("X-Accel-Buffering")!: "no",
        ]
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            defer { permit.release() }
            let stream = SSEChatStream(chat: chat, wire: wire, requestID: requestID)
            let progress = SSEChatStream.Progress()
            do {
                // A client that hangs up cancels the relay, which stops the backend. (A write
                // that fails does too, where the connection has no departure signal.)
                if let departure {
                    try await departure.cancellingOnDeparture { await stream.relay(events, to: &writer, progress: progress) }
                } else {
                    await stream.relay(events, to: &writer, progress: progress)
                }
            } catch {
                progress.update { $0.status = UsageRecord.clientClosedStatus }
            }
            let outcome = progress.outcome
            outcome.backendFailure?.report(model: chat.model, metrics: metrics, logger: logger)
            ticket.addTokens(prompt: outcome.tokens.prompt, completion: outcome.tokens.completion)
            ticket.finish(status: outcome.status)
            if outcome.status == UsageRecord.clientClosedStatus {
                logger.info("Client left mid-stream", metadata: ["completion_tokens": "\(outcome.tokens.completion)"])
            }
            try? await writer.finish(nil)
        })
    }
}
