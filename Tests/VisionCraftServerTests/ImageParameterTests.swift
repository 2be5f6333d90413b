import Foundation
import HummingbirdTesting
import Testing
@testable import VisionCraftServer

/// Both sides of every `/sd` and `/text2gif` range, in front of a real A1111-protocol upstream.
@Suite struct ImageParameterTests {
    struct Bound: Sendable, CustomStringConvertible {
        var path: String
        var param: String
        var lowest: Double
        var highest: Double
        var below: Double
        var above: Double
        var description: String { "\(path) \(param)" }
    }

    static let bounds: [Bound] = [
        Bound(path: "/sd", param: "steps", lowest: 1, highest: 35, below: 0, above: 36),
        Bound(path: "/sd", param: "width", lowest: 64, highest: 1024, below: 63, above: 1025),
        Bound(path: "/sd", param: "height", lowest: 64, highest: 1024, below: 63, above: 1025),
        Bound(path: "/sd", param: "cfg_scale", lowest: 1, highest: 30, below: 0, above: 31),
        Bound(path: "/text2gif", param: "frames", lowest: 2, highest: 64, below: 1, above: 65),
        Bound(path: "/text2gif", param: "fps", lowest: 1, highest: 30, below: 0, above: 31),
        Bound(path: "/text2gif", param: "width", lowest: 64, highest: 1024, below: 63, above: 1025),
        Bound(path: "/text2gif", param: "height", lowest: 64, highest: 1024, below: 63, above: 1025),
        Bound(path: "/text2gif", param: "steps", lowest: 1, highest: 35, below: 0, above: 36),
    ]

    @Test(arguments: bounds)
    func rangeIsEnforcedOnBothSides(_ bound: Bound) async throws {
        try await withImageUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let base: [String: Any] = bound.path == "/sd" ? ["model": "sdxl-base", "prompt": "a lake"] : ["prompt": "a cat"]
                for accepted in [bound.lowest, bound.highest] {
                    let response = try await client.post(bound.path, json: body(base.merging([bound.param: accepted]) { $1 }), key: key)
                    #expect(response.status == .ok, "\(bound) = \(accepted): \(response.body.string)")
                }
                for refused in [bound.below, bound.above] {
                    let response = try await client.post(bound.path, json: body(base.merging([bound.param: refused]) { $1 }), key: key)
                    #expect(response.status == .badRequest, "\(bound) = \(refused)")
                    #expect(response.errorParam == bound.param)
                }
            }
        }
    }

    @Test(arguments: [
        (#"{"prompt":"a lake"}"#, "model"),
        (#"{"model":"sdxl-base"}"#, "prompt"),
        (#"{"model":"sdxl-base","prompt":""}"#, "prompt"),
        (#"{"model":"nope","prompt":"a lake"}"#, "model"),
        (#"{"model":"sdxl-base","prompt":"a lake","cfg_scale":7.5}"#, "cfg_scale"),
        (#"{"model":"sdxl-base","prompt":"a lake","sampler":"Heun Turbo"}"#, "sampler"),
        (#"{"model":"sdxl-base","prompt":"a lake","loras":{"unknown_lora":1}}"#, "loras"),
        (#"{"model":"sdxl-base","prompt":"a lake","loras":["add_detail"]}"#, "loras"),
        (#"{"model":"sdxl-base","prompt":"a lake","loras":{"add_detail":"strong"}}"#, "loras"),
        (#"{"model":"sdxl-base","prompt":"a lake","loras":{"add_detail":1,"pixel_art":1,"film_grain":1,"watercolor":1,"ink":1,"neon":1}}"#, "loras"),
        (#"{"model":"sdxl-base","prompt":"a lake","steps":"many"}"#, "steps"),
        (#"{"model":"sdxl-base","prompt":"a lake","seed":"lucky"}"#, "seed"),
    ])
    func malformedImageRequestsNameTheParameter(_ json: String, _ param: String) async throws {
        try await withImageUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let response = try await client.post("/sd", json: json, key: key)
                #expect(response.status == .badRequest, "\(json) → \(response.body.string)")
                #expect(response.errorParam == param)
            }
            #expect(upstream.txt2imgBodies.isEmpty)
        }
    }

    @Test func fiveLoRAsAreAllowed() async throws {
        try await withImageUpstream(.tier2) { upstream, environment, key in
            try await environment.test { client in
                let loras = ["add_detail": 1, "pixel_art": 0.5, "film_grain": 1, "watercolor": 1, "ink": -1]
                let response = try await client.post(
                    "/sd", json: body(["model": "sdxl-base", "prompt": "a lake", "loras": loras]), key: key)
                #expect(response.status == .ok)
            }
        }
    }
}
