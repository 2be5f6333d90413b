/// diffusers' `BasicTransformerBlock` as Stable Diffusion and AnimateDiff use it: layer norm and
/// attention twice (the UNet's: self-attention, then cross-attention to the text; a motion
/// module's: self-attention across frames both times), then layer norm and a GEGLU feed-forward,
/// each added to the residual. The callers run it, as what the attentions see differs.
struct TransformerBlock: Sendable {
    let norm1: LayerNorm
    var attention1: AttentionProjections
    let norm2: LayerNorm
    var attention2: AttentionProjections
    let norm3: LayerNorm
    var feedForwardIn: Linear
    var feedForwardOut: Linear

    init(_ w: Weights) throws(DiffusionError) {
        norm1 = try LayerNorm(w, "norm1")
        attention1 = try AttentionProjections(w.scoped("attn1"))
        norm2 = try LayerNorm(w, "norm2")
        attention2 = try AttentionProjections(w.scoped("attn2"))
        norm3 = try LayerNorm(w, "norm3")
        feedForwardIn = try Linear(w, "ff.net.0.proj")
        feedForwardOut = try Linear(w, "ff.net.2")
    }
}
