import Foundation

/// PyTorch's CPU random generator, reproduced so that a seed draws the same noise here as in
/// diffusers and ComfyUI on CPU: a Mersenne Twister (MT19937) seeded with the seed's low 32 bits,
/// and `torch.randn`'s float path for 16 or more values — uniforms from 24 random bits each,
/// turned into normals by Box–Muller in groups of 16 (the first eight values' radii with the last
/// eight's angles), the last group redrawn whole when the count is not a multiple of 16.
public struct TorchGenerator: Sendable {
    private var state = [UInt32](repeating: 0, count: 624)
    private var index = 624

    public init(seed: UInt64) {
        state[0] = UInt32(truncatingIfNeeded: seed)
        for i in 1..<624 { state[i] = 1_812_433_253 &* (state[i - 1] ^ (state[i - 1] >> 30)) &+ UInt32(i) }
    }

    public mutating func nextUInt32() -> UInt32 {
        if index >= 624 { twist() }
        var y = state[index]
        index += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C_5680
        y ^= (y << 15) & 0xEFC6_0000
        y ^= y >> 18
        return y
    }

    private mutating func twist() {
        for i in 0..<624 {
            let y = (state[i] & 0x8000_0000) | (state[(i + 1) % 624] & 0x7FFF_FFFF)
            state[i] = state[(i + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_B0DF)
        }
        index = 0
    }

    /// A uniform float in [0, 1) from 24 random bits, as `at::uniform_real_distribution<float>`.
    private mutating func uniform() -> Float { Float(nextUInt32() & 0xFF_FFFF) / Float(1 << 24) }

    /// `torch.randn(count)` with this generator; `count` must be at least 16 (torch draws fewer
    /// through another path, which no latent or noise tensor of an image needs).
    public mutating func normal(count: Int) -> [Float] {
        precondition(count >= 16, "torch draws fewer than 16 normal values another way")
        var values = (0..<count).map { _ in uniform() }
        var start = 0
        while start + 16 <= count {
            Self.boxMuller16(&values, at: start)
            start += 16
        }
        if count % 16 != 0 {
            for i in count - 16..<count { values[i] = uniform() }
            Self.boxMuller16(&values, at: count - 16)
        }
        return values
    }

    private static func boxMuller16(_ values: inout [Float], at start: Int) {
        for j in start..<start + 8 {
            let u1 = 1 - values[j], u2 = values[j + 8]
            let radius = (-2 * log(u1)).squareRoot()
            let theta = Float(2.0 * Double.pi * Double(u2))
            values[j] = radius * cos(theta)
            values[j + 8] = radius * sin(theta)
        }
    }
}
