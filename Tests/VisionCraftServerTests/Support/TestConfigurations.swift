@testable import VisionCraftServer

extension ServerConfiguration {
    /// One chat model, `test-model`, served by the given OpenAI-compatible upstreams, plus the
    /// vision model `test-vision`; image and GIF models when an A1111 upstream is given.
    static func upstreams(
        chat: [String] = [], a1111: String? = nil, readTimeout: Double = 5, tiers: TierPolicies? = nil,
        maxBodyBytes: Int? = nil
    ) -> ServerConfiguration {
        let chatBackends = chat.map {
            UpstreamEntry(kind: "openai", baseUrl: $0, model: "upstream-model", readTimeoutSeconds: readTimeout)
        }
        let imageBackends = a1111.map {
            [UpstreamEntry(kind: "a1111", baseUrl: $0, model: "sd_xl_base_1.0.safetensors [31e35c80fc]",
                           motionModule: "mm_sd_v15_v2.ckpt", readTimeoutSeconds: readTimeout)]
        } ?? []
        return ServerConfiguration(
            server: ServerSection(maxBodyBytes: maxBodyBytes),
            tiers: tiers,
            chatModels: chat.isEmpty ? [] : [
                ChatModelEntry(name: "test-model", backends: chatBackends),
                ChatModelEntry(name: "test-vision", vision: true, backends: chatBackends),
            ],
            imageModels: imageBackends.isEmpty ? [] : [ImageModelEntry(name: "sdxl-base", backends: imageBackends)],
            gifModels: imageBackends.isEmpty ? [] : [ImageModelEntry(name: "animatediff", backends: imageBackends)])
    }
}

/// A JSON object literal for request bodies, built from Swift values.
func body(_ fields: [String: Any]) -> String {
    String(decoding: try! JSONSerialization.data(withJSONObject: fields, options: [.sortedKeys]), as: UTF8.self)
}

var hello: [[String: Any]] { [["role": "user", "content": "hi"]] }

import Foundation
