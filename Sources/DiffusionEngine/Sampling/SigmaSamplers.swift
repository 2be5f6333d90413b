import Foundation

/// The samplers that walk noise levels σ with the latents at scale σ (k-diffusion's formulation):
/// Euler, Euler ancestral, Heun, LMS, DPM2 and DPM2 ancestral, step for step as diffusers' discrete
/// schedulers take them. Each "derivative" is (x − x₀)/σ with x₀ = x − σ·ε, written out as they
/// write it so the floats round alike.
extension LatentWalk {
    mutating func runSigmaSampler(
        _ sampler: ImageSampler, levels: NoiseLevels, schedule: NoiseSchedule, generator: inout TorchGenerator
    ) throws {
        let s = levels.sigmas, t = levels.timesteps
        let steps = t.count
        latents = latents.map { $0 * s[0] }
        var history: [[Float]] = []  // LMS's latest derivatives, oldest first
        for i in 0..<steps {
            let eps = try predictNoise(latents, sigma: s[i], timestep: t[i])
            let d = derivative(latents, eps, sigma: s[i])
            switch sampler {
            case .euler, .eulerKarras:
                move(along: d, by: s[i + 1] - s[i])
            case .eulerAncestral:
                let (up, down) = ancestralSplit(from: s[i], to: s[i + 1])
                move(along: d, by: down - s[i])
                addNoise(scale: up, generator: &generator)
            case .heun:
                if i == steps - 1 {
                    move(along: d, by: s[i + 1] - s[i])
                } else {
                    let start = latents, dt = s[i + 1] - s[i]
                    move(along: d, by: dt)
                    try stepped()
                    let eps2 = try predictNoise(latents, sigma: s[i + 1], timestep: t[i + 1])
                    let d2 = derivative(latents, eps2, sigma: s[i + 1])
                    latents = start
                    move(along: zip(d, d2).map { ($0 + $1) / 2 }, by: dt)
                }
            case .lms, .lmsKarras:
                history.append(d)
                if history.count > 4 { history.removeFirst() }
                let order = min(i + 1, 4)
                for (k, past) in history.reversed().enumerated() {
                    move(along: past, by: Float(Self.lmsCoefficient(order: order, sigmas: s, step: i, term: k)))
                }
            case .dpm2, .dpm2Karras, .dpm2Ancestral, .dpm2AncestralKarras:
                let ancestral = sampler == .dpm2Ancestral || sampler == .dpm2AncestralKarras
                let (up, down) = ancestral ? ancestralSplit(from: s[i], to: s[i + 1]) : (0, s[i + 1])
                // Midway in log σ between σᵢ and where the step lands (0 on the last step: Euler).
                // Midway in log σ, rounded as diffusers rounds it (its lerp runs from σᵢ₊₁ to σᵢ for
                // DPM2, from σᵢ to σ_down for the ancestral one).
                let middle = i == steps - 1 ? 0
                    : ancestral ? Self.logMidpoint(from: s[i], to: down) : Self.logMidpoint(from: s[i + 1], to: s[i])
                let start = latents
                move(along: d, by: middle - s[i])
                if i < steps - 1 {
                    try stepped()
                    let eps2 = try predictNoise(latents, sigma: middle, timestep: Float(schedule.timestep(forFloatSigma: middle)))
                    let d2 = derivative(latents, eps2, sigma: middle)
                    latents = start
                    move(along: d2, by: down - s[i])
                    if ancestral { addNoise(scale: up, generator: &generator) }
                }
            case .dpmPlusPlus2SAncestral, .dpmPlusPlus2SAncestralKarras:
                let (up, down) = ancestralSplit(from: s[i], to: s[i + 1])
                if down == 0 {
                    move(along: d, by: down - s[i])
                } else {
                    try dpmSolverSinglestep(eps, sigma: s[i], to: down, schedule: schedule)
                    addNoise(scale: up, generator: &generator)
                }
            default:
                preconditionFailure("\(sampler) does not walk noise levels")
            }
            try stepped()
        }
    }

    /// DPM-Solver++(2S) from σ to `next` given the model's noise `eps` at σ: a half step in
    /// log σ, the model again there, then the whole step from the second clean image, in
    /// k-diffusion's terms (t = −log σ; its σ of t is exp(−t), not σ itself, and so it is here).
    /// Reports the midway latents as an evaluation.
    mutating func dpmSolverSinglestep(_ eps: [Float], sigma: Float, to next: Float, schedule: NoiseSchedule) throws {
        let start = latents
        let original = zip(start, eps).map { x, e in x + e * -sigma }
        let t = -logf(sigma), tNext = -logf(next)
        let h = tNext - t
        let middle = expf(-(t + 0.5 * h)), from = expf(-t)
        let keep = middle / from, take = expm1f(-h * 0.5)
        latents = zip(start, original).map { x, x0 in keep * x - take * x0 }
        try stepped()
        let eps2 = try predictNoise(latents, sigma: middle, timestep: Float(schedule.timestep(forFloatSigma: middle)))
        let original2 = zip(latents, eps2).map { x, e in x + e * -middle }
        let keepAll = expf(-tNext) / from, takeAll = expm1f(-h)
        latents = zip(start, original2).map { x, x0 in keepAll * x - takeAll * x0 }
    }

    /// exp of the midpoint of two logs, rounded in float as torch's `start.log().lerp(end.log(),
    /// 0.5).exp()` rounds it (its lerp at 0.5 works back from the end).
    static func logMidpoint(from start: Float, to end: Float) -> Float {
        let a = logf(start), b = logf(end)
        return expf(b - (b - a) * 0.5)
    }

    func derivative(_ x: [Float], _ eps: [Float], sigma: Float) -> [Float] {
        zip(x, eps).map { x, e in (x - (x - sigma * e)) / sigma }
    }

    mutating func move(along d: [Float], by dt: Float) {
        for j in latents.indices { latents[j] += d[j] * dt }
    }

    mutating func addNoise(scale: Float, generator: inout TorchGenerator) {
        let fresh = generator.normal(count: latents.count)
        for j in latents.indices { latents[j] += fresh[j] * scale }
    }

    /// An ancestral step from σ to σ′ splits into a deterministic move to σ_down and fresh noise of
    /// σ_up, with σ_down² + σ_up² = σ′².
    func ancestralSplit(from sigma: Float, to next: Float) -> (up: Float, down: Float) {
        let up = (next * next * (sigma * sigma - next * next) / (sigma * sigma)).squareRoot()
        return (up, (next * next - up * up).squareRoot())
    }

    /// ∫ from σᵢ to σᵢ₊₁ of the Lagrange basis polynomial of derivative `term` (0 the newest) over
    /// the last `order` levels: Gauss–Legendre with four points, exact for these cubics.
    static func lmsCoefficient(order: Int, sigmas: [Float], step: Int, term: Int) -> Double {
        func basis(_ tau: Double) -> Double {
            var product = 1.0
            for k in 0..<order where k != term {
                product *= (tau - Double(sigmas[step - k])) / (Double(sigmas[step - term]) - Double(sigmas[step - k]))
            }
            return product
        }
        let a = Double(sigmas[step]), b = Double(sigmas[step + 1])
        let nodes = [(-0.8611363115940526, 0.3478548451374538), (-0.3399810435848563, 0.6521451548625461),
                     (0.3399810435848563, 0.6521451548625461), (0.8611363115940526, 0.3478548451374538)]
        let half = (b - a) / 2, mid = (a + b) / 2
        return half * nodes.reduce(0) { $0 + $1.1 * basis(mid + half * $1.0) }
    }
}
