"""What the reference scripts share: random weights a trained model could have, and diffusers'
state dicts renamed into AUTOMATIC1111's single-file layout (CompVis names)."""
import json
import os
import tempfile

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


def same(a, b, what):
    """Two state dicts hold the same names and values (a converter's output checked against the
    module it should rebuild)."""
    assert set(a) == set(b), f"{what}: {sorted(set(a) ^ set(b))[:8]}"
    for k in a:
        assert torch.equal(a[k].float().reshape(b[k].shape), b[k].float()), f"{what}: {k}"


def clip_tokenizer_files(vocab_path):
    """vocab.json and merges.txt for transformers' CLIPTokenizer built from the open_clip merges (the
    files that ship with openai/clip-vit-large-patch14 are built from the same list), in a temporary
    folder whose path is returned."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    symbols = [chr(c) for c in cs]
    with open(vocab_path, encoding="utf-8") as f:
        merges = f.read().split("\n")[1:49152 - 256 - 2 + 1]
    vocab = symbols + [s + "</w>" for s in symbols] + ["".join(m.split()) for m in merges] + ["<|startoftext|>", "<|endoftext|>"]
    folder = tempfile.mkdtemp()
    with open(os.path.join(folder, "vocab.json"), "w", encoding="utf-8") as f:
        json.dump({t: i for i, t in enumerate(vocab)}, f)
    with open(os.path.join(folder, "merges.txt"), "w", encoding="utf-8") as f:
        f.write("#version: 0.2\n" + "\n".join(merges) + "\n")
    return folder


def openclip_to_ldm(sd, layers, prefix="cond_stage_model.model.", projection=None):
    """transformers' CLIP text model renamed into OpenCLIP's layout (queries, keys and values packed
    in one matrix); `projection` the Linear weight of CLIPTextModelWithProjection, which OpenCLIP
    keeps transposed (identity when the model has none)."""
    out = {prefix + "token_embedding.weight": sd["embeddings.token_embedding.weight"],
           prefix + "positional_embedding": sd["embeddings.position_embedding.weight"],
           prefix + "ln_final.weight": sd["final_layer_norm.weight"], prefix + "ln_final.bias": sd["final_layer_norm.bias"]}
    for i in range(layers):
        src, dst = f"encoder.layers.{i}.", f"{prefix}transformer.resblocks.{i}."
        out[dst + "attn.in_proj_weight"] = torch.cat([sd[src + f"self_attn.{p}_proj.weight"] for p in "qkv"])
        out[dst + "attn.in_proj_bias"] = torch.cat([sd[src + f"self_attn.{p}_proj.bias"] for p in "qkv"])
        for a, b in [("self_attn.out_proj", "attn.out_proj"), ("layer_norm1", "ln_1"), ("layer_norm2", "ln_2"),
                     ("mlp.fc1", "mlp.c_fc"), ("mlp.fc2", "mlp.c_proj")]:
            out[dst + b + ".weight"] = sd[src + a + ".weight"]
            out[dst + b + ".bias"] = sd[src + a + ".bias"]
    width = sd["final_layer_norm.weight"].shape[0]
    out[prefix + "text_projection"] = torch.eye(width) if projection is None else projection.T.contiguous()
    return out


def kohya_lora(module, prefix, wanted, rank, seed):
    """A LoRA in kohya's format (sd-scripts' names: module paths with underscores behind `prefix`)
    on the modules of `module` whose names end with one of `wanted`; rank `rank`, alpha 2; LoCon
    (a 3x3 down, 1x1 up) on convolutions."""
    generator = torch.Generator().manual_seed(seed)
    tensors = {}
    for name, sub in module.named_modules():
        if not any(name.endswith(w) for w in wanted):
            continue
        key = prefix + name.replace(".", "_")
        if isinstance(sub, torch.nn.Conv2d):
            down = torch.randn(rank, sub.in_channels, *sub.kernel_size, generator=generator) * 0.3
            up = torch.randn(sub.out_channels, rank, 1, 1, generator=generator) * 0.3
        else:
            down = torch.randn(rank, sub.in_features, generator=generator) * 0.3
            up = torch.randn(sub.out_features, rank, generator=generator) * 0.3
        tensors[key + ".lora_down.weight"] = down.half()
        tensors[key + ".lora_up.weight"] = up.half()
        tensors[key + ".alpha"] = torch.tensor(2.0).half()
    return tensors
