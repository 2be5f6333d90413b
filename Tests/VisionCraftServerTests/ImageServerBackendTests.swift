import Foundation
import Testing
@testable import VisionCraftServer

/// `/sd` in front of ComfyUI and of OpenAI-compatible images APIs, each a live double speaking the
/// real protocol.
@Suite struct ImageServerBackendTests {
    @Test func comfyUIRunsTheWorkflowAndAnswersItsImage() async throws {
        let comfy = ComfyUIUpstreamDouble()
        try await comfy.run { url in
            let configuration = ServerConfiguration(imageModels: [.init(name: "comfy-sd15", backends: [
                .init(kind: "comfyui", baseUrl: url, model: "v1-5-pruned-emaonly.safetensors"),
            ], defaults: ImageDefaults(width: 512, height: 512, steps: 20, cfgScale: 7, clipSkip: 2))])
            let environment = try await TestEnvironment.make(configuration: configuration)
            let (key, _) = try await environment.mintKey(.tier2)
            try await environment.live { server in
                let samplers = try #require(try await LiveClient.get("\(server)/sd/samplers").body.json.strings)
                #expect(samplers.contains("Euler a") && samplers.contains("DPM++ 2M Karras") && samplers.contains("LCM"))
                #expect(!samplers.contains("DDIM"), "ComfyUI's ddim_uniform scheduler is not offered by this server")
                #expect(try await LiveClient.get("\(server)/sd/loras").body.json.strings == ["add_detail", "pixel_art"])
                let response = try await LiveClient.post("\(server)/sd", json: body([
                    "model": "comfy-sd15", "prompt": "a lake", "negative_prompt": "fog", "sampler": "DPM++ 2M Karras",
                    "steps": 12, "width": 512, "height": 768, "cfg_scale": 6, "seed": 99, "loras": ["pixel_art": 0.7],
                ]), key: key)
                #expect(response.status == 200, "\(response.body.string)")
                #expect(Array(response.body.readableBytesView) == ComfyUIUpstreamDouble.png(seed: 99))
                #expect(response.headers.first(name: "X-Seed") == "99")
            }
            let graph = try #require(comfy.workflows.first)
            let sampler = try #require(graph["sampler"]?["inputs"] as? [String: Any])
            #expect(sampler["sampler_name"] as? String == "dpmpp_2m" && sampler["scheduler"] as? String == "karras")
            #expect(sampler["steps"] as? Int == 12 && sampler["cfg"] as? Int == 6 && sampler["seed"] as? Int == 99)
            let lora = try #require(graph["lora0"]?["inputs"] as? [String: Any])
            #expect(lora["lora_name"] as? String == "styles/pixel_art.safetensors" && lora["strength_model"] as? Double == 0.7)
            #expect((sampler["model"] as? [Any])?.first as? String == "lora0")
            let latent = try #require(graph["latent"]?["inputs"] as? [String: Any])
            #expect(latent["width"] as? Int == 512 && latent["height"] as? Int == 768)
            #expect((graph["negative"]?["inputs"] as? [String: Any])?["text"] as? String == "fog")
            // The model's clip skip of 2 as ComfyUI's CLIPSetLastLayer(-2), between the LoRA and the encoders.
            let skip = try #require(graph["clipskip"]?["inputs"] as? [String: Any])
            #expect(skip["stop_at_clip_layer"] as? Int == -2 && (skip["clip"] as? [Any])?.first as? String == "lora0")
            #expect(((graph["positive"]?["inputs"] as? [String: Any])?["clip"] as? [Any])?.first as? String == "clipskip")
            #expect(comfy.historyPolls == 2, "asked until the job was done")
        }
    }

    @Test func comfyUIRefusingTheWorkflowIsA400() async throws {
        let comfy = ComfyUIUpstreamDouble()
        try await comfy.run { url in
            let configuration = ServerConfiguration(imageModels: [.init(name: "comfy-missing", backends: [
                .init(kind: "comfyui", baseUrl: url, model: "not-installed.safetensors"),
            ])])
            let environment = try await TestEnvironment.make(configuration: configuration)
            let (key, _) = try await environment.mintKey(.tier2)
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/sd", json: body(["model": "comfy-missing", "prompt": "x", "steps": 2]), key: key)
                #expect(response.status == 400)
                #expect(response.body.json["error"]["message"].string?.contains("not-installed") == false)
            }
        }
    }

    @Test(arguments: ["dall-e-3", "linked"])
    func anOpenAIImagesAPIAnswersItsPNG(_ upstreamModel: String) async throws {
        let images = OpenAIImagesDouble()
        try await images.run { url in
            let configuration = ServerConfiguration(imageModels: [.init(name: "dalle", backends: [
                .init(kind: "openai", baseUrl: url + "/v1", model: upstreamModel),
            ])])
            let environment = try await TestEnvironment.make(configuration: configuration)
            let (key, _) = try await environment.mintKey(.tier2)
            try await environment.live { server in
                #expect(try await LiveClient.get("\(server)/sd/models").body.json.strings == ["dalle"])
                let response = try await LiveClient.post("\(server)/sd", json: body([
                    "model": "dalle", "prompt": "a lighthouse", "width": 1024, "height": 512, "seed": 3,
                ]), key: key)
                #expect(response.status == 200, "\(response.body.string)")
                #expect(Array(response.body.readableBytesView) == OpenAIImagesDouble.png)
                let sampler = try await LiveClient.post("\(server)/sd", json: body([
                    "model": "dalle", "prompt": "x", "sampler": "Euler",
                ]), key: key)
                #expect(sampler.status == 400, "no samplers to choose on an images API")
            }
            let sent = try #require(images.requests.first)
            #expect(sent["prompt"] as? String == "a lighthouse" && sent["size"] as? String == "1024x512")
            #expect(sent["model"] as? String == upstreamModel && sent["n"] as? Int == 1)
            #expect(sent["seed"] == nil, "only the standard fields unless the extensions are asked for")
        }
    }
}
