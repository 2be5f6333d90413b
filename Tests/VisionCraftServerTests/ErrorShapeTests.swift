import Foundation
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// Whatever a client sends, the answer is a 4xx in OpenAI's shape, never a 500.
@Suite struct ErrorShapeTests {
    @Test func oversizedBodiesAre413() async throws {
        let environment = try await TestEnvironment.make(configuration: .upstreams(maxBodyBytes: 1024))
        let (key, _) = try await environment.mintKey()
        try await environment.test { client in
            let big = body(["model": "m", "messages": [["role": "user", "content": String(repeating: "x", count: 2048)]]])
            let response = try await client.post("/v1/chat/completions", json: big, key: key)
            #expect(response.status == .contentTooLarge)
            #expect(response.json["error"]["code"].string == "request_too_large")
        }
    }

    @Test func unknownPathsAre404InTheSameShape() async throws {
        let environment = try await TestEnvironment.make()
        try await environment.test { client in
            let response = try await client.get("/v2/everything")
            #expect(response.status == .notFound)
            #expect(response.json["error"]["message"].string != nil)
            #expect(response.json["error"]["param"].isNull)
        }
    }

    @Test(arguments: [
        "", "{", "[]", "null", "42", "\"text\"", "{\"model\":", String(repeating: "[", count: 10_000),
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":{\"nested\":true}}]}",
        "{\"model\":\"m\",\"messages\":[null]}", "{\"model\":\"m\",\"messages\":[{\"role\":null,\"content\":\"x\"}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"image_url\",\"image_url\":{\"url\":\"file:///etc/passwd\"}}]}]}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"max_tokens\":1e308}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"temperature\":-1e-300}",
        "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"seed\":1e30}",
        "\u{FEFF}{}", "{\"model\":\"\\ud800\"}",
    ])
    func badInputIsAClearClientError(_ json: String) async throws {
        let environment = try await TestEnvironment.make()
        let (key, _) = try await environment.mintKey(.tier2)
        try await environment.test { client in
            for path in ["/v1/chat/completions", "/sd", "/text2gif"] {
                let response = try await client.post(path, json: json, key: key)
                #expect((400..<500).contains(Int(response.status.code)), "\(path) \(json.prefix(60)) → \(response.status)")
                #expect(response.json["error"]["message"].string != nil)
                #expect(response.json["error"]["type"].string != nil)
            }
        }
    }
}
