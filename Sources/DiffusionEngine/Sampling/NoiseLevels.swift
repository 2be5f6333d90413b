/// The noise levels a k-diffusion-style sampler walks (steps + 1 of them, the last zero) and the
/// timesteps the model is conditioned on at each, as diffusers' schedulers compute them.
struct NoiseLevels {
    var sigmas: [Float]
    var timesteps: [Float]

    init(_ sampler: ImageSampler, steps: Int, schedule: NoiseSchedule) {
        var timesteps: [Double]
        switch sampler {
        case .dpmPlusPlus2M, .dpmPlusPlus2MKarras:
            // DPM-Solver's linspace spacing: steps + 1 points, rounded, the last (0) dropped.
            let last = Double(NoiseSchedule.trainingSteps - 1)
            timesteps = (0...steps).reversed().dropLast().map { (last * Double($0) / Double(steps)).rounded(.toNearestOrEven) }
        default:
            timesteps = schedule.linspaceTimesteps(steps)
        }
        var sigmas = timesteps.map { schedule.sigma(at: $0) }
        if sampler.usesKarrasLevels {
            // From the schedule's own ends (σ at t = 999 and t = 0), whatever the spacing.
            sigmas = NoiseSchedule.karras(
                from: schedule.sigma(at: Double(NoiseSchedule.trainingSteps - 1)), to: schedule.sigma(at: 0), count: steps)
            timesteps = sigmas.map { schedule.timestep(forSigma: $0) }
            // diffusers' DPM2 and DPM-Solver condition on whole timesteps there.
            if [.dpm2Karras, .dpm2AncestralKarras, .dpmPlusPlus2MKarras].contains(sampler) {
                timesteps = timesteps.map { $0.rounded(.toNearestOrEven) }
            }
        }
        self.sigmas = sigmas.map { Float($0) } + [0]
        self.timesteps = timesteps.map { Float($0) }
    }
}
