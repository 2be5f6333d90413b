import Foundation
import Testing
@testable import VisionCraftServer

/// `/sd` and `/text2gif` through a live server in front of a live A1111-protocol double.
@Suite struct ImageUpstreamTests {
    @Test func sdAnswersThePNGBytesWithTheSeedUsed() async throws {
        try await withImageUpstream { upstream, environment, key in
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/sd",
                    json: body([
                        "model": "sdxl-base", "prompt": "Beautiful landscape", "negative_prompt": "bad quality",
                        "token": key, "sampler": "Euler", "steps": 30, "width": 512, "height": 768, "cfg_scale": 9,
                        "loras": ["add_detail": 0.8, "pixel_art": 1], "seed": 77,
                    ]))
                #expect(response.status == 200)
                #expect(response.headers.first(name: "content-type") == "image/png")
                #expect(response.headers.first(name: "X-Seed") == "77")
                #expect(Array(response.body.readableBytesView) == A1111UpstreamDouble.png(width: 512, height: 768, seed: 77))
            }
            let sent = try #require(upstream.txt2imgBodies.first)
            #expect(sent["prompt"] as? String == "Beautiful landscape <lora:add_detail:0.8> <lora:pixel_art:1>")
            #expect(sent["negative_prompt"] as? String == "bad quality")
            #expect(sent["sampler_name"] as? String == "Euler")
            #expect(sent["steps"] as? Int == 30)
            #expect(sent["width"] as? Int == 512)
            #expect(sent["height"] as? Int == 768)
            #expect(sent["cfg_scale"] as? Int == 9)
            #expect(sent["seed"] as? Int == 77)
            #expect((sent["override_settings"] as? [String: Any])?["sd_model_checkpoint"] as? String
                == "sd_xl_base_1.0.safetensors [31e35c80fc]")
            let records = try await environment.usageRecords()
            #expect(records.map(\.category) == [.image])
            #expect(records.map(\.status) == [200])
        }
    }

    @Test func aModelsClipSkipReachesAUTOMATIC1111AsASetting() async throws {
        let upstream = A1111UpstreamDouble()
        try await upstream.run { url in
            let configuration = ServerConfiguration(imageModels: [.init(
                name: "anime", backends: [.init(kind: "a1111", baseUrl: url, model: "anything-v5.safetensors")],
                defaults: ImageDefaults(width: 512, height: 512, steps: 20, cfgScale: 7, clipSkip: 2))])
            let environment = try await TestEnvironment.make(configuration: configuration)
            let (key, _) = try await environment.mintKey(.tier2)
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/sd", json: body(["model": "anime", "prompt": "a castle", "seed": 5]), key: key)
                #expect(response.status == 200)
            }
            let settings = try #require(upstream.txt2imgBodies.first?["override_settings"] as? [String: Any])
            #expect(settings["CLIP_stop_at_last_layers"] as? Int == 2)
            #expect(settings["sd_model_checkpoint"] as? String == "anything-v5.safetensors")
            #expect(upstream.txt2imgBodies.first?["width"] as? Int == 512, "the model's defaults apply")
        }
    }

    @Test func aMissingSeedIsChosenAndReported() async throws {
        try await withImageUpstream { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post("/sd", json: body(["model": "sdxl-base", "prompt": "a lake"]), key: key)
                #expect(response.status == .ok)
                let seed = try #require(response.headers[.init("X-Seed")!].flatMap { Int($0) })
                #expect(upstream.txt2imgBodies.first?["seed"] as? Int == seed)
                #expect(upstream.txt2imgBodies.first?["width"] as? Int == 1024, "the contract's default size")
                #expect(upstream.txt2imgBodies.first?["steps"] as? Int == 35)
                #expect(upstream.txt2imgBodies.first?["cfg_scale"] as? Int == 7)
            }
        }
    }

    @Test func text2gifAnswersTheGIFFromAnimateDiff() async throws {
        try await withImageUpstream { upstream, environment, key in
            try await environment.live { server in
                let response = try await LiveClient.post(
                    "\(server)/text2gif", json: body(["token": key, "prompt": "A cat playing with a ball of yarn", "cfg_scale": 9,
                                                      "sampler": "DPM++ 2M"]))
                #expect(response.status == 200)
                #expect(response.headers.first(name: "content-type") == "image/gif")
                #expect(Array(response.body.readableBytesView) == TestImages.gif)
            }
            let sent = try #require(upstream.txt2imgBodies.first)
            let scripts = try #require(sent["alwayson_scripts"] as? [String: Any])
            let args = try #require(((scripts["AnimateDiff"] as? [String: Any])?["args"] as? [[String: Any]])?.first)
            #expect(args["enable"] as? Bool == true)
            #expect(args["video_length"] as? Int == 16)
            #expect(args["fps"] as? Int == 8)
            #expect(args["model"] as? String == "mm_sd_v15_v2.ckpt")
            // The extras reach the upstream as AUTOMATIC1111 names them.
            #expect(sent["cfg_scale"] as? Int == 9)
            #expect(sent["sampler_name"] as? String == "DPM++ 2M")
            #expect(try await environment.usageRecords().map(\.category) == [.gif])
        }
    }

    @Test func aFailingImageBackendIs502() async throws {
        try await withImageUpstream(.tier2) { upstream, environment, key in
            upstream.setFailing(true)
            try await environment.test { client in
                let response = try await client.post("/sd", json: body(["model": "sdxl-base", "prompt": "a lake"]), key: key)
                #expect(response.status == .badGateway)
                #expect(!response.errorMessage.contains("CUDA out of memory"), "the upstream's words go to the log only")
                let requestID = try #require(response.headers[.init("X-Request-Id")!])
                #expect(response.errorMessage.contains(requestID), "the message names the request: \(response.errorMessage)")
            }
        }
    }

    @Test func listsShowWhatTheBackendOffersAndNothingWhenItIsDown() async throws {
        let upstream = A1111UpstreamDouble()
        try await upstream.run { url in
            let environment = try await TestEnvironment.make(configuration: .upstreams(a1111: url))
            try await environment.test { client async throws -> Void in
                #expect(try await client.get("/sd/models").json.strings == ["sdxl-base"])
                #expect(try await client.get("/sd/samplers").json.strings == A1111UpstreamDouble.samplers)
                #expect(try await client.get("/sd/loras").json.strings == A1111UpstreamDouble.loras)
            }
        }
        let environment = try await TestEnvironment.make(configuration: .upstreams(a1111: "http://127.0.0.1:1"))
        let (key, _) = try await environment.mintKey()
        try await environment.test { client in
            #expect(try await client.get("/sd/models").json.strings == [])
            #expect(try await client.get("/sd/samplers").json.strings == [])
            let response = try await client.post("/sd", json: body(["model": "sdxl-base", "prompt": "a lake"]), key: key)
            #expect(response.status == .serviceUnavailable)
        }
    }
}
