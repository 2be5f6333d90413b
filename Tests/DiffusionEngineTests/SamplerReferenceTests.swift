import Testing
@testable import DiffusionEngine

/// Whole generations against diffusers' pipeline with its schedulers configured as AUTOMATIC1111
/// samples: the latents after every step and the decoded image, from the same seed.
@Suite(.serialized) struct SamplerReferenceTests {
    @Test(arguments: ImageSampler.allCases)
    func everyStepIsDiffusers(_ sampler: ImageSampler) throws {
        let settings = Reference.generation
        let request = ImageRequest(
            prompt: settings["prompt"] as! String, negativePrompt: settings["negative_prompt"] as! String,
            width: settings["width"] as! Int, height: settings["height"] as! Int, steps: settings["steps"] as! Int,
            guidance: sampler == .lcm ? 1 : Float(settings["cfg"] as! Double), sampler: sampler, seed: UInt64(settings["seed"] as! Int))
        var steps: [[Float]] = []
        let latents = try Reference.model.generateLatents(request, pool: Reference.pool, onStep: { _, latents in steps.append(latents) })
        let runs = Reference.json["samplers"] as! [[String: Any]]
        let run = try #require(runs.first { $0["sampler"] as? String == sampler.rawValue })
        #expect(steps.count == run["unet_calls"] as! Int)
        #expect(steps.count == sampler.evaluations(steps: request.steps))
        for (index, values) in steps.enumerated() {
            let expected = Reference.tensor("sampler.\(sampler.rawValue).step\(index)").values
            #expect(relativeError(values, expected) < 1e-4, "step \(index)")
        }
        let image = try Reference.model.decoder.decode(latents, pool: Reference.pool)
        let pixels = image.values.map { min(max($0 / 2 + 0.5, 0), 1) }
        #expect(relativeError(pixels, Reference.tensor("sampler.\(sampler.rawValue).image").values) < 1e-4)
    }
}
