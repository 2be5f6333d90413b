/// The samplers, by AUTOMATIC1111's names. Each walks noise levels from the schedule's top to zero;
/// the Karras variants walk Karras et al.'s levels instead.
public enum ImageSampler: String, CaseIterable, Sendable {
    case euler = "Euler"
    case eulerKarras = "Euler Karras"
    case eulerAncestral = "Euler a"

    /// What a sampler asks of the model at each evaluation: the latents scaled for the UNet's input
    /// and the timestep to condition on; it answers with the predicted noise.
    public typealias Denoiser = (_ input: [Float], _ timestep: Float) throws -> [Float]

    /// Runs `steps` steps from `noise` (standard normal), calling `denoise` once per step and
    /// `onStep` after each with the latents so far; ancestral samplers draw their fresh noise from
    /// `generator`. Returns the final latents.
    public func sample(
        noise: [Float], steps: Int, schedule: NoiseSchedule, generator: inout TorchGenerator,
        denoise: Denoiser, onStep: (_ step: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> [Float] {
        let plan = SigmaPlan(self, steps: steps, schedule: schedule)
        var x = noise.map { $0 * plan.sigmas[0] }
        for i in 0..<steps {
            let sigma = plan.sigmas[i], next = plan.sigmas[i + 1]
            let inputScale = 1 / (sigma * sigma + 1).squareRoot()
            let eps = try denoise(x.map { $0 * inputScale }, plan.timesteps[i])
            switch self {
            case .euler, .eulerKarras:
                let dt = next - sigma
                for j in x.indices {
                    let denoised = x[j] - sigma * eps[j]
                    x[j] += (x[j] - denoised) / sigma * dt
                }
            case .eulerAncestral:
                let up = (next * next * (sigma * sigma - next * next) / (sigma * sigma)).squareRoot()
                let down = (next * next - up * up).squareRoot()
                let dt = down - sigma
                for j in x.indices {
                    let denoised = x[j] - sigma * eps[j]
                    x[j] += (x[j] - denoised) / sigma * dt
                }
                let fresh = generator.normal(count: x.count)
                for j in x.indices { x[j] += fresh[j] * up }
            }
            try onStep(i, x)
        }
        return x
    }
}

/// The noise levels (steps + 1 of them, the last zero) and the timesteps a sampler conditions on.
struct SigmaPlan {
    var sigmas: [Float]
    var timesteps: [Float]

    init(_ sampler: ImageSampler, steps: Int, schedule: NoiseSchedule) {
        let timesteps = schedule.linspaceTimesteps(steps)
        var sigmas = timesteps.map { schedule.sigma(at: $0) }
        var conditioned = timesteps
        switch sampler {
        case .eulerKarras:
            sigmas = NoiseSchedule.karras(from: sigmas.first!, to: sigmas.last!, count: steps)
            conditioned = sigmas.map { schedule.timestep(forSigma: $0) }
        case .euler, .eulerAncestral:
            break
        }
        self.sigmas = sigmas.map { Float($0) } + [0]
        self.timesteps = conditioned.map { Float($0) }
    }
}
