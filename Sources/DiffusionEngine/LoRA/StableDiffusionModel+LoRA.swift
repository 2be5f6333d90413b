import LLMEngine

extension StableDiffusionModel {
    /// The model with `loras` applied at their weights: a copy whose touched layers have new
    /// weights; `self` is unchanged.
    public func applying(_ loras: [(file: LoRAFile, weight: Float)], pool: ComputePool) throws(DiffusionError) -> StableDiffusionModel {
        guard !loras.isEmpty else { return self }
        // SDXL's LoRAs name two text encoders (lora_te1_, lora_te2_) and its UNet's deeper blocks.
        guard family != .sdxl else { throw .unsupported("LoRAs on SDXL checkpoints are not supported yet") }
        let names = LoRANames(unet: unet, unetPrefix: "model.diffusion_model.", textEncoder: textEncoder,
                              textPrefix: "cond_stage_model.transformer.")
        var patch = WeightPatch()
        for (file, weight) in loras { try file.add(to: &patch, weight: weight, names: names, pool: pool) }
        var copy = self
        copy.unet = unet.patched(patch)
        copy.textEncoder = textEncoder.patched(patch)
        return copy
    }
}
