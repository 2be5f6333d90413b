/// An attention layer's four projections (diffusers' `Attention`: `to_q`, `to_k`, `to_v`,
/// `to_out.0`), as the UNet's spatial transformers and AnimateDiff's temporal ones both have them.
struct AttentionProjections: Sendable {
    var query: Linear
    var key: Linear
    var value: Linear
    var output: Linear

    /// `w` scoped at the attention (`…attn1`).
    init(_ w: Weights) throws(DiffusionError) {
        query = try Linear(w, "to_q")
        key = try Linear(w, "to_k")
        value = try Linear(w, "to_v")
        output = try Linear(w, "to_out.0")
    }

    var layers: [Linear] { [query, key, value, output] }

    func patched(_ patch: WeightPatch) -> AttentionProjections {
        var copy = self
        copy.query = query.patched(patch)
        copy.key = key.patched(patch)
        copy.value = value.patched(patch)
        copy.output = output.patched(patch)
        return copy
    }
}
