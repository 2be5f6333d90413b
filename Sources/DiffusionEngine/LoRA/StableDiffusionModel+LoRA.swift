import LLMEngine

extension StableDiffusionModel {
    /// The model with `loras` applied at their weights: a copy whose touched layers have new
    /// weights; `self` is unchanged.
    public func applying(_ loras: [(file: LoRAFile, weight: Float)], pool: ComputePool) throws(DiffusionError) -> StableDiffusionModel {
        guard !loras.isEmpty else { return self }
        let encoders: [(encoder: CLIPTextEncoder, prefix: String, kohya: String)]
        if let textEncoder2 {
            encoders = [(textEncoder, "conditioner.embedders.0.transformer.", "lora_te1_"),
                        (textEncoder2, "conditioner.embedders.1.transformer.", "lora_te2_")]
        } else {
            encoders = [(textEncoder, "cond_stage_model.transformer.", "lora_te_")]
        }
        let names = LoRANames(unet: unet, unetPrefix: "model.diffusion_model.", textEncoders: encoders)
        var patch = WeightPatch()
        for (file, weight) in loras { try file.add(to: &patch, weight: weight, names: names, pool: pool) }
        var copy = self
        copy.unet = unet.patched(patch)
        copy.textEncoder = textEncoder.patched(patch)
        copy.textEncoder2 = textEncoder2?.patched(patch)
        return copy
    }
}
