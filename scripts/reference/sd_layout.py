"""What the reference scripts share: random weights a trained model could have, and diffusers'
state dicts renamed into AUTOMATIC1111's single-file layout (CompVis names)."""
import torch


def randomize(module, seed):
    """Weights a trained model could have (not diffusers' init, which zeroes some outputs), rounded
    to float16 so the float16 file reproduces them exactly."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if p.ndim >= 2:
                fan_in = p[0].numel()
                value = torch.randn(p.shape, generator=generator) / fan_in ** 0.5
            elif name.endswith("weight"):  # norms
                value = 1 + 0.1 * torch.randn(p.shape, generator=generator)
            else:
                value = 0.1 * torch.randn(p.shape, generator=generator)
            p.copy_(value.half().float())


def unet_to_ldm(sd, layers=1, levels=4):
    out = {}

    def resnet(src, dst):
        for a, b in [("norm1", "in_layers.0"), ("conv1", "in_layers.2"), ("time_emb_proj", "emb_layers.1"),
                     ("norm2", "out_layers.0"), ("conv2", "out_layers.3"), ("conv_shortcut", "skip_connection")]:
            for kind in ("weight", "bias"):
                if f"{src}.{a}.{kind}" in sd:
                    out[f"{dst}.{b}.{kind}"] = sd[f"{src}.{a}.{kind}"]

    def attention(src, dst):
        for k, v in sd.items():
            if k.startswith(src + "."):
                out[dst + k[len(src):]] = v

    for a, b in [("time_embedding.linear_1", "time_embed.0"), ("time_embedding.linear_2", "time_embed.2"),
                 ("conv_in", "input_blocks.0.0"), ("conv_norm_out", "out.0"), ("conv_out", "out.2")]:
        for kind in ("weight", "bias"):
            out[f"{b}.{kind}"] = sd[f"{a}.{kind}"]
    for i in range(levels):
        for j in range(layers):
            n = i * (layers + 1) + j + 1
            resnet(f"down_blocks.{i}.resnets.{j}", f"input_blocks.{n}.0")
            attention(f"down_blocks.{i}.attentions.{j}", f"input_blocks.{n}.1")
        if i < levels - 1:
            for kind in ("weight", "bias"):
                out[f"input_blocks.{(i + 1) * (layers + 1)}.0.op.{kind}"] = sd[f"down_blocks.{i}.downsamplers.0.conv.{kind}"]
    resnet("mid_block.resnets.0", "middle_block.0")
    attention("mid_block.attentions.0", "middle_block.1")
    resnet("mid_block.resnets.1", "middle_block.2")
    for i in range(levels):
        for j in range(layers + 1):
            n = i * (layers + 1) + j
            resnet(f"up_blocks.{i}.resnets.{j}", f"output_blocks.{n}.0")
            attention(f"up_blocks.{i}.attentions.{j}", f"output_blocks.{n}.1")
        if i < levels - 1:
            index = 2 if f"up_blocks.{i}.attentions.0.norm.weight" in sd else 1
            for kind in ("weight", "bias"):
                out[f"output_blocks.{i * (layers + 1) + layers}.{index}.conv.{kind}"] = sd[f"up_blocks.{i}.upsamplers.0.conv.{kind}"]
    return {"model.diffusion_model." + k: v for k, v in out.items()}


def vae_to_ldm(sd, levels=4):
    out = {}

    def resnet(src, dst):
        for k, v in sd.items():
            if k.startswith(src + "."):
                out[dst + k[len(src):].replace("conv_shortcut", "nin_shortcut")] = v

    def attention(src, dst):
        for a, b in [("group_norm", "norm"), ("to_q", "q"), ("to_k", "k"), ("to_v", "v"), ("to_out.0", "proj_out")]:
            w = sd[f"{src}.{a}.weight"]
            out[f"{dst}.{b}.weight"] = w if a == "group_norm" else w[:, :, None, None]
            out[f"{dst}.{b}.bias"] = sd[f"{src}.{a}.bias"]

    for part in ("encoder", "decoder"):
        for a in ("conv_in", "conv_out"):
            for kind in ("weight", "bias"):
                out[f"{part}.{a}.{kind}"] = sd[f"{part}.{a}.{kind}"]
                out[f"{part}.norm_out.{kind}"] = sd[f"{part}.conv_norm_out.{kind}"]
        resnet(f"{part}.mid_block.resnets.0", f"{part}.mid.block_1")
        attention(f"{part}.mid_block.attentions.0", f"{part}.mid.attn_1")
        resnet(f"{part}.mid_block.resnets.1", f"{part}.mid.block_2")
    for i in range(levels):
        resnet(f"encoder.down_blocks.{i}.resnets", f"encoder.down.{i}.block")
        if i < levels - 1:
            for kind in ("weight", "bias"):
                out[f"encoder.down.{i}.downsample.conv.{kind}"] = sd[f"encoder.down_blocks.{i}.downsamplers.0.conv.{kind}"]
        block = levels - 1 - i
        resnet(f"decoder.up_blocks.{i}.resnets", f"decoder.up.{block}.block")
        if i < levels - 1:
            for kind in ("weight", "bias"):
                out[f"decoder.up.{block}.upsample.conv.{kind}"] = sd[f"decoder.up_blocks.{i}.upsamplers.0.conv.{kind}"]
    for a in ("quant_conv", "post_quant_conv"):
        for kind in ("weight", "bias"):
            out[f"{a}.{kind}"] = sd[f"{a}.{kind}"]
    return {"first_stage_model." + k: v for k, v in out.items()}


def taesd_decoder_file(taesd):
    """TAESD's own file layout (madebyollin's taesd_decoder.safetensors): the decoder's sequential
    indices one higher than diffusers' (a clamp comes first there), float16."""
    out = {}
    for k, v in taesd.state_dict().items():
        if k.startswith("decoder.layers."):
            index, rest = k[len("decoder.layers."):].split(".", 1)
            out[f"{int(index) + 1}.{rest}"] = v.contiguous().half()
    return out
