import HTTPTypes
import Hummingbird

/// Webhook mode: Telegram posts each update here with the secret token it was given, which is
/// checked before anything is read.
struct TelegramWebhookController {
    let bot: TelegramBot
    let secret: String

    func addRoutes(to router: Router<AppRequestContext>, path: String) {
        router.post(RouterPath(path)) { request, context in
            guard request.headers[HTTPField.Name("X-Telegram-Bot-Api-Secret-Token")!] == secret else {
                throw APIError(status: .unauthorized, message: "Wrong or missing Telegram secret token.",
                               type: "invalid_request_error", code: "invalid_secret")
            }
            let body = try await request.body.collect(upTo: 1024 * 1024)
            guard let update = try? JSONValue.parse(body.readableBytesView) else {
                throw APIError(status: .badRequest, message: "The update is not JSON.", type: "invalid_request_error",
                               code: "invalid_json")
            }
            await bot.receive(update)
            return Response(status: .ok)
        }
    }
}
