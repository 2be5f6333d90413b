import Foundation

/// The noise levels Stable Diffusion was trained with — 1,000 timesteps of a "scaled linear" beta
/// schedule — and the schedules samplers walk down them, computed in float as diffusers computes
/// them so the same settings give the same steps.
public struct NoiseSchedule: Sendable {
    public static let trainingSteps = 1000
    /// ᾱ(t) for t in 0..<1000.
    public let alphasCumulative: [Float]
    /// σ(t) = √((1 − ᾱ)/ᾱ), increasing with t.
    public let sigmas: [Float]
    let logSigmas: [Double]

    public init(betaStart: Float = 0.00085, betaEnd: Float = 0.012) {
        let n = Self.trainingSteps
        let start = betaStart.squareRoot(), end = betaEnd.squareRoot()
        let step = (end - start) / Float(n - 1)
        // torch.linspace fills the second half backwards from the end.
        let roots = (0..<n).map { i in i < n / 2 ? start + step * Float(i) : end - step * Float(n - i - 1) }
        // torch's cumprod accumulates float tensors in double on the CPU.
        var product: Double = 1
        alphasCumulative = roots.map { root in
            product *= Double(1 - root * root)
            return Float(product)
        }
        sigmas = alphasCumulative.map { ((1 - $0) / $0).squareRoot() }
        logSigmas = sigmas.map { log(Double($0)) }
    }

    /// `count` timesteps spaced evenly from 999 down to 0 (diffusers' "linspace" spacing, which
    /// is k-diffusion's and so AUTOMATIC1111's and ComfyUI's "normal" schedule).
    public func linspaceTimesteps(_ count: Int) -> [Double] {
        guard count > 1 else { return [Double(Self.trainingSteps - 1)] }
        let last = Float(Self.trainingSteps - 1)
        return (0..<count).reversed().map { Double(Float(Double(last) * Double($0) / Double(count - 1))) }
    }

    /// σ at a fractional timestep, interpolated linearly between the trained ones.
    public func sigma(at timestep: Double) -> Double {
        let clamped = min(max(timestep, 0), Double(Self.trainingSteps - 1))
        let low = min(Int(clamped), Self.trainingSteps - 2)
        let w = clamped - Double(low)
        return Double(sigmas[low]) * (1 - w) + Double(sigmas[low + 1]) * w
    }

    /// The fractional timestep whose log σ interpolates to `sigma`'s (diffusers' `_sigma_to_t`).
    public func timestep(forSigma sigma: Double) -> Double {
        let logSigma = log(max(sigma, 1e-10))
        var low = 0
        for i in logSigmas.indices where logSigmas[i] <= logSigma { low = i }
        low = min(low, logSigmas.count - 2)
        let lower = logSigmas[low], upper = logSigmas[low + 1]
        let w = min(max((lower - logSigma) / (lower - upper), 0), 1)
        return (1 - w) * Double(low) + w * Double(low + 1)
    }

    /// The same for a σ diffusers holds in a float tensor (DPM2's midpoints): logs and weights
    /// in float, as it computes them there.
    public func timestep(forFloatSigma sigma: Float) -> Double {
        let logSigma = logf(max(sigma, 1e-10))
        var low = 0
        for i in sigmas.indices where logf(sigmas[i]) <= logSigma { low = i }
        low = min(low, sigmas.count - 2)
        let lower = logf(sigmas[low]), upper = logf(sigmas[low + 1])
        let w = min(max((lower - logSigma) / (lower - upper), 0), 1)
        return Double((1 - w) * Float(low) + w * Float(low + 1))
    }

    /// Karras et al.'s noise levels between the schedule's ends, spaced evenly in σ^(1/7).
    public static func karras(from maximum: Double, to minimum: Double, count: Int) -> [Double] {
        let rho = 7.0
        let maxInverse = pow(maximum, 1 / rho), minInverse = pow(minimum, 1 / rho)
        return (0..<count).map { i in
            let ramp = count > 1 ? Double(i) / Double(count - 1) : 0
            return pow(maxInverse + ramp * (minInverse - maxInverse), rho)
        }
    }
}
