/// The samplers, by AUTOMATIC1111's names, computed as diffusers' schedulers compute them with
/// `timestep_spacing="linspace"` (k-diffusion's noise levels at timesteps spaced evenly from 999 to
/// 0, which AUTOMATIC1111 and ComfyUI's "normal" schedule use); the Karras variants walk Karras et
/// al.'s noise levels instead. DPM++ 2S a, which diffusers lacks, as k-diffusion computes it.
public enum ImageSampler: String, CaseIterable, Sendable {
    case euler = "Euler"
    case eulerKarras = "Euler Karras"
    case eulerAncestral = "Euler a"
    case heun = "Heun"
    case lms = "LMS"
    case lmsKarras = "LMS Karras"
    case dpm2 = "DPM2"
    case dpm2Karras = "DPM2 Karras"
    case dpm2Ancestral = "DPM2 a"
    case dpm2AncestralKarras = "DPM2 a Karras"
    case dpmPlusPlus2SAncestral = "DPM++ 2S a"
    case dpmPlusPlus2SAncestralKarras = "DPM++ 2S a Karras"
    case dpmPlusPlus2M = "DPM++ 2M"
    case dpmPlusPlus2MKarras = "DPM++ 2M Karras"
    case ddim = "DDIM"
    case lcm = "LCM"

    /// What a sampler asks of the model at each evaluation: the latents scaled for the UNet's input
    /// and the timestep to condition on; it answers with the predicted noise.
    public typealias Denoiser = (_ input: [Float], _ timestep: Float) throws -> [Float]

    var usesKarrasLevels: Bool {
        [.eulerKarras, .lmsKarras, .dpm2Karras, .dpm2AncestralKarras, .dpmPlusPlus2SAncestralKarras, .dpmPlusPlus2MKarras]
            .contains(self)
    }

    /// Model evaluations for `steps` steps: the second-order samplers evaluate twice per step
    /// except the last.
    public func evaluations(steps: Int) -> Int {
        switch self {
        case .heun, .dpm2, .dpm2Karras, .dpm2Ancestral, .dpm2AncestralKarras, .dpmPlusPlus2SAncestral,
             .dpmPlusPlus2SAncestralKarras: 2 * steps - 1
        default: steps
        }
    }

    /// Runs `steps` steps from `noise` (standard normal), calling `denoise` for each evaluation and
    /// `onStep` after each with the latents so far; ancestral samplers (and LCM) draw their fresh
    /// noise from `generator`. Returns the final latents.
    /// `prediction`: what the model's output is — the noise, or v (SD 2.x 768-v), which each
    /// sampler turns into what it needs as diffusers' schedulers do.
    public func sample(
        noise: [Float], steps: Int, schedule: NoiseSchedule, generator: inout TorchGenerator,
        prediction: StableDiffusionModel.Prediction = .epsilon,
        denoise: Denoiser, onStep: (_ evaluation: Int, _ latents: [Float]) throws -> Void = { _, _ in }
    ) throws -> [Float] {
        try withoutActuallyEscaping(denoise) { denoise in
            try withoutActuallyEscaping(onStep) { onStep in
                var walk = LatentWalk(latents: noise, denoise: denoise, onStep: onStep)
                walk.prediction = prediction
                try run(&walk, steps: steps, schedule: schedule, generator: &generator)
                return walk.latents
            }
        }
    }

    private func run(_ walk: inout LatentWalk, steps: Int, schedule: NoiseSchedule, generator: inout TorchGenerator) throws {
        switch self {
        case .euler, .eulerKarras, .eulerAncestral, .heun, .lms, .lmsKarras, .dpm2, .dpm2Karras, .dpm2Ancestral,
             .dpm2AncestralKarras, .dpmPlusPlus2SAncestral, .dpmPlusPlus2SAncestralKarras:
            let levels = NoiseLevels(self, steps: steps, schedule: schedule)
            try walk.runSigmaSampler(self, levels: levels, schedule: schedule, generator: &generator)
        case .dpmPlusPlus2M, .dpmPlusPlus2MKarras:
            try walk.runDPMSolver(levels: NoiseLevels(self, steps: steps, schedule: schedule))
        case .ddim:
            try walk.runDDIM(steps: steps, schedule: schedule)
        case .lcm:
            try walk.runLCM(steps: steps, schedule: schedule, generator: &generator)
        }
    }
}

/// The latents as a sampler moves them, and the evaluations it has made.
struct LatentWalk {
    var latents: [Float]
    let denoise: ImageSampler.Denoiser
    let onStep: (Int, [Float]) throws -> Void
    var evaluations = 0
    var prediction = StableDiffusionModel.Prediction.epsilon

    init(latents: [Float], denoise: @escaping ImageSampler.Denoiser, onStep: @escaping (Int, [Float]) throws -> Void) {
        self.latents = latents
        self.denoise = denoise
        self.onStep = onStep
    }

    /// The model's noise prediction for `x` at noise level `sigma` (k-diffusion's scaling of the
    /// input by 1/√(σ²+1)), conditioned on `timestep`. A v-model's output becomes the noise that
    /// gives the same clean image, x₀ = x/(σ²+1) − v·σ/√(σ²+1).
    func predictNoise(_ x: [Float], sigma: Float, timestep: Float) throws -> [Float] {
        let scale = 1 / (sigma * sigma + 1).squareRoot()
        let output = try denoise(x.map { $0 * scale }, timestep)
        guard prediction == .velocity else { return output }
        return zip(x, output).map { x, v in
            let original = v * (-sigma / (sigma * sigma + 1).squareRoot()) + x / (sigma * sigma + 1)
            return (x - original) / sigma
        }
    }

    /// For the samplers on unit-scale latents x = α·x₀ + σ·ε: the clean image and the noise the
    /// model's output implies.
    func originalAndNoise(_ x: [Float], output: [Float], alpha: Float, sigma: Float) -> (original: [Float], noise: [Float]) {
        switch prediction {
        case .epsilon:
            return (zip(x, output).map { x, e in (x - sigma * e) / alpha }, output)
        case .velocity:
            return (zip(x, output).map { x, v in alpha * x - sigma * v }, zip(x, output).map { x, v in alpha * v + sigma * x })
        }
    }

    /// Reports the latents after an evaluation.
    mutating func stepped() throws {
        try onStep(evaluations, latents)
        evaluations += 1
    }
}
