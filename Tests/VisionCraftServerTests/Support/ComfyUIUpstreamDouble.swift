import Foundation
import Hummingbird
import NIOConcurrencyHelpers
import NIOCore

/// A stand-in for a ComfyUI server over a real socket: `/object_info` for KSampler's samplers and
/// schedulers and LoraLoader's files, `POST /prompt` that checks the workflow as ComfyUI does (known
/// node classes, links to existing nodes, a known checkpoint) and queues it, `/history/{id}` that
/// says nothing until asked a second time, then the saved image, and `/view` serving it.
final class ComfyUIUpstreamDouble: Sendable {
    static let checkpoints = ["v1-5-pruned-emaonly.safetensors"]
    static let loraFiles = ["add_detail.safetensors", "styles/pixel_art.safetensors"]
    static let knownClasses: Set = ["CheckpointLoaderSimple", "LoraLoader", "CLIPTextEncode", "EmptyLatentImage", "KSampler",
                                    "VAEDecode", "SaveImage", "CLIPSetLastLayer"]
    private let state = NIOLockedValueBox(State())

    struct State: @unchecked Sendable {
        var workflows: [[String: [String: Any]]] = []
        var historyPolls: [String: Int] = [:]
    }

    var workflows: [[String: [String: Any]]] { state.withLockedValue { $0.workflows } }
    var historyPolls: Int { state.withLockedValue { $0.historyPolls.values.reduce(0, +) } }

    func run<Value: Sendable>(_ body: @Sendable (String) async throws -> Value) async throws -> Value {
        try await serveRoutes({ self.router() }, body)
    }

    static func png(seed: Int) -> [UInt8] {
        let shade = UInt8(truncatingIfNeeded: seed)
        return TestImages.png(width: 8, height: 8, rgb: (255 &- shade, shade, 7))
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/object_info/KSampler") { _, _ in
            try A1111UpstreamDouble.json(["KSampler": ["input": ["required": [
                "sampler_name": [["euler", "euler_ancestral", "heun", "dpmpp_2m", "lcm"], [:]],
                "scheduler": [["normal", "karras", "exponential"], [:]],
            ]]]])
        }
        router.get("/object_info/LoraLoader") { _, _ in
            try A1111UpstreamDouble.json(["LoraLoader": ["input": ["required": ["lora_name": [Self.loraFiles, [:]]]]]])
        }
        router.post("/prompt") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            let json = (try JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            let graph = json["prompt"] as? [String: [String: Any]] ?? [:]
            if let problem = Self.validate(graph) {
                return Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(
                    data: try JSONSerialization.data(withJSONObject: ["error": ["type": "prompt_outputs_failed_validation",
                                                                                "message": problem], "node_errors": [:]]))))
            }
            let id = self.state.withLockedValue { state in
                state.workflows.append(graph)
                return "job-\(state.workflows.count)"
            }
            return try A1111UpstreamDouble.json(["prompt_id": id, "number": 0, "node_errors": [:]])
        }
        router.get("/history/{id}") { _, context in
            let id = context.parameters.get("id") ?? ""
            let polls = self.state.withLockedValue { state in
                state.historyPolls[id, default: 0] += 1
                return state.historyPolls[id]!
            }
            guard polls >= 2 else { return try A1111UpstreamDouble.json([:]) }  // still running
            return try A1111UpstreamDouble.json([id: [
                "outputs": ["save": ["images": [["filename": "visioncraft_\(id).png", "subfolder": "", "type": "output"]]]],
                "status": ["status_str": "success", "completed": true, "messages": []],
            ]])
        }
        router.get("/view") { request, _ in
            let name = request.uri.queryParameters.get("filename") ?? ""
            guard name.hasPrefix("visioncraft_job-"), request.uri.queryParameters.get("type") == "output",
                let index = Int(name.dropFirst("visioncraft_job-".count).dropLast(".png".count))
            else { return Response(status: .notFound) }
            let graph = self.state.withLockedValue { $0.workflows[index - 1] }
            let seed = (graph["sampler"]?["inputs"] as? [String: Any])?["seed"] as? Int ?? 0
            return Response(status: .ok, headers: [.contentType: "image/png"],
                            body: .init(byteBuffer: ByteBuffer(bytes: Self.png(seed: seed))))
        }
        return router
    }

    /// What ComfyUI's validation would refuse: unknown classes, links to missing nodes, an unknown
    /// checkpoint or LoRA file.
    static func validate(_ graph: [String: [String: Any]]) -> String? {
        guard !graph.isEmpty else { return "empty workflow" }
        for (id, node) in graph {
            guard let type = node["class_type"] as? String, knownClasses.contains(type) else { return "node \(id): unknown class" }
            let inputs = node["inputs"] as? [String: Any] ?? [:]
            for (_, value) in inputs {
                if let link = value as? [Any], link.count == 2, let target = link[0] as? String, graph[target] == nil {
                    return "node \(id) links to missing node \(target)"
                }
            }
            if type == "CheckpointLoaderSimple", !checkpoints.contains(inputs["ckpt_name"] as? String ?? "") {
                return "unknown checkpoint"
            }
            if type == "LoraLoader", !loraFiles.contains(inputs["lora_name"] as? String ?? "") { return "unknown LoRA" }
        }
        return nil
    }
}

/// A stand-in for an OpenAI-compatible images API (OpenAI, LocalAI): `/v1/models` and
/// `/v1/images/generations`, answering base64 PNGs, or a link to one for the model `linked`.
final class OpenAIImagesDouble: Sendable {
    private struct Bodies: @unchecked Sendable { var list: [[String: Any]] = [] }
    private let bodies = NIOLockedValueBox(Bodies())
    var requests: [[String: Any]] { bodies.withLockedValue { $0.list } }
    static let png = TestImages.png(width: 4, height: 4, rgb: (1, 2, 3))

    func run<Value: Sendable>(_ body: @Sendable (String) async throws -> Value) async throws -> Value {
        try await serveRoutes({ self.router() }, body)
    }

    private func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/v1/models") { _, _ in try A1111UpstreamDouble.json(["object": "list", "data": [["id": "dall-e-3"]]]) }
        router.get("/files/image.png") { _, _ in
            Response(status: .ok, headers: [.contentType: "image/png"], body: .init(byteBuffer: ByteBuffer(bytes: Self.png)))
        }
        router.post("/v1/images/generations") { request, context in
            var request = request
            let body = try await request.collectBody(upTo: 1024 * 1024)
            let json = (try JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any] ?? [:]
            self.bodies.withLockedValue { $0.list.append(json) }
            guard json["prompt"] is String, json["model"] is String else {
                return Response(status: .badRequest, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(
                    string: #"{"error":{"message":"missing prompt","type":"invalid_request_error"}}"#)))
            }
            if json["model"] as? String == "linked" {
                let host = request.head.authority ?? "127.0.0.1"
                return try A1111UpstreamDouble.json(["created": 0, "data": [["url": "http://\(host)/files/image.png"]]])
            }
            return try A1111UpstreamDouble.json(["created": 0, "data": [["b64_json": Data(Self.png).base64EncodedString()]]])
        }
        return router
    }
}
