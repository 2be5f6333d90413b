import Foundation

/// The samplers that keep the latents at unit scale (x = α·x₀ + σ·ε with α² + σ² = 1) and feed
/// them to the model unscaled: DPM-Solver++ (2M), DDIM and LCM, as diffusers' schedulers step.
extension LatentWalk {
    /// DPM-Solver++ in its multistep second-order form (midpoint), first order on the first and
    /// last steps, on k-diffusion's noise levels.
    mutating func runDPMSolver(levels: NoiseLevels) throws {
        let s = levels.sigmas
        func alphaSigma(_ sigma: Float) -> (alpha: Float, sigma: Float) {
            let alpha = 1 / (sigma * sigma + 1).squareRoot()
            return (alpha, sigma * alpha)
        }
        func lambda(_ sigma: Float) -> Float {
            let (a, s) = alphaSigma(sigma)
            return log(a) - log(s)
        }
        var previous: [Float]?
        let steps = levels.timesteps.count
        for i in 0..<steps {
            let output = try denoise(latents, levels.timesteps[i])
            let (alphaS, sigmaS) = alphaSigma(s[i])
            let denoised = originalAndNoise(latents, output: output, alpha: alphaS, sigma: sigmaS).original
            let (alphaT, sigmaT) = alphaSigma(s[i + 1])
            let h = lambda(s[i + 1]) - lambda(s[i])
            let decay = exp(-h) - 1
            if i == 0 || i == steps - 1 || previous == nil {
                for j in latents.indices { latents[j] = (sigmaT / sigmaS) * latents[j] - (alphaT * decay) * denoised[j] }
            } else {
                let r = (lambda(s[i]) - lambda(s[i - 1])) / h
                let older = previous!
                for j in latents.indices {
                    let d1 = (1 / r) * (denoised[j] - older[j])
                    latents[j] = (sigmaT / sigmaS) * latents[j] - (alphaT * decay) * denoised[j] - 0.5 * (alphaT * decay) * d1
                }
            }
            previous = denoised
            try stepped()
        }
    }

    /// DDIM with η = 0 at timesteps rounded from the linspace spacing, each stepping back by
    /// 1000 / steps (diffusers' choice), to ᾱ₀ past the start.
    mutating func runDDIM(steps: Int, schedule: NoiseSchedule) throws {
        let timesteps = schedule.linspaceTimesteps(steps).map { Int($0.rounded(.toNearestOrEven)) }
        let stride = NoiseSchedule.trainingSteps / steps
        for t in timesteps {
            let output = try denoise(latents, Float(t))
            let alpha = schedule.alphasCumulative[t]
            let previous = t - stride
            let alphaPrevious = previous >= 0 ? schedule.alphasCumulative[previous] : schedule.alphasCumulative[0]
            let (original, eps) = originalAndNoise(latents, output: output, alpha: alpha.squareRoot(), sigma: (1 - alpha).squareRoot())
            for j in latents.indices {
                latents[j] = alphaPrevious.squareRoot() * original[j] + (1 - alphaPrevious).squareRoot() * eps[j]
            }
            try stepped()
        }
    }

    /// Latent Consistency Models' multistep sampling: each step predicts the clean image through
    /// the consistency boundary condition, then noises it again to the next timestep (not after
    /// the last). Timesteps from the 50-step schedule it was distilled on.
    mutating func runLCM(steps: Int, schedule: NoiseSchedule, generator: inout TorchGenerator) throws {
        let originalSteps = 50, ratio = NoiseSchedule.trainingSteps / originalSteps
        let origin = (1...originalSteps).map { $0 * ratio - 1 }.reversed() as [Int]
        let timesteps = (0..<steps).map { origin[Int((Double($0) * Double(originalSteps) / Double(steps)).rounded(.down))] }
        for (index, t) in timesteps.enumerated() {
            let output = try denoise(latents, Float(t))
            let alpha = schedule.alphasCumulative[t]
            let scaled = Double(t) * 10, sigmaData = 0.5
            let skip = Float(sigmaData * sigmaData / (scaled * scaled + sigmaData * sigmaData))
            let out = Float(scaled / (scaled * scaled + sigmaData * sigmaData).squareRoot())
            var denoised = originalAndNoise(latents, output: output, alpha: alpha.squareRoot(), sigma: (1 - alpha).squareRoot()).original
            for j in denoised.indices { denoised[j] = out * denoised[j] + skip * latents[j] }
            if index < steps - 1 {
                let alphaNext = schedule.alphasCumulative[timesteps[index + 1]]
                let fresh = generator.normal(count: latents.count)
                for j in latents.indices {
                    latents[j] = alphaNext.squareRoot() * denoised[j] + (1 - alphaNext).squareRoot() * fresh[j]
                }
            } else {
                latents = denoised
            }
            try stepped()
        }
    }
}
