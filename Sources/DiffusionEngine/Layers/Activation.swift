import Foundation

/// The pointwise functions the models use, in place.
enum Activation {
    static func silu(_ x: inout [Float]) {
        for i in x.indices { x[i] = x[i] / (1 + exp(-x[i])) }
    }

    /// GELU with the error function (PyTorch's default, approximate = "none").
    static func gelu(_ x: Float) -> Float { 0.5 * x * (1 + erf(x * 0.70710678118654752)) }

    /// CLIP's x·σ(1.702x).
    static func quickGELU(_ x: Float) -> Float { x / (1 + exp(-1.702 * x)) }
}
