"""Builds a tiny random-weight Stable Diffusion 1.x model with diffusers and writes the values the
diffusion engine's tests compare against: CLIP token ids, text embeddings (and clip skip 2), one UNet
output, the VAE decoder's image, torch's CPU normal draws, and the latents after every step of each
sampler that diffusers configures the way AUTOMATIC1111 (k-diffusion) samples.

The model has SD 1.x's architecture at a small width: four UNet levels, three with cross-attention,
the last twice as wide, one resnet per level as the distilled small models have (SD 1.5 has two); a
four-level VAE; a CLIP text encoder over the real 49,408-token vocabulary. Each file stays under
5 MB, most of it CLIP's token embedding.
Its weights are rounded to float16 before anything is computed, so the float16 file written in
AUTOMATIC1111's single-file layout holds exactly the weights the expected values came from.

    pip install torch==2.13.0+cpu diffusers transformers safetensors scipy
    pip install --no-deps k-diffusion==0.1.1.post1 torchsde torchdiffeq trampoline
    make model   # the CLIP vocabulary
    python3 scripts/reference/sd_reference.py data/models/clip/bpe_simple_vocab_16e6.txt \
        Tests/DiffusionEngineTests/Reference/sd1-tiny
"""
import copy
import json
import os
import sys

import torch
from diffusers import (AutoencoderKL, AutoencoderTiny, DDIMScheduler, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, HeunDiscreteScheduler, KDPM2AncestralDiscreteScheduler,
                       KDPM2DiscreteScheduler, LCMScheduler, LMSDiscreteScheduler, StableDiffusionPipeline,
                       UNet2DConditionModel)
from diffusers.loaders import single_file_utils
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sd_layout import (clip_tokenizer_files, kohya_lora, openclip_to_ldm, randomize, same,  # noqa: E402
                       taesd_decoder_file, unet_to_ldm, vae_to_ldm)

vocab_path, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)


# --- The tokenizer: transformers' CLIPTokenizer over the open_clip merges (the files that ship
# with openai/clip-vit-large-patch14 are built from the same list). --------------------------------
tok_dir = clip_tokenizer_files(vocab_path)
tokenizer = CLIPTokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"),
                          pad_token="<|endoftext|>", model_max_length=77)

TOKEN_PROMPTS = [
    "a photograph of an astronaut riding a horse",
    "A Cat, sitting on the WINDOWSILL... at sunset!!",
    "portrait of a woman, 85mm, f/1.8, highly detailed, trending on artstation",
    "café crème brûlée   naïve  déjà-vu",
    "it's 3:45pm and they'll say we've done 1234 things; isn't it?",
    "masterpiece, best quality, (extremely detailed), [blurry], <lora:x:0.5> 日本 東京",
    "emoji 🙂🚀 and symbols @#$%^&*()_+-=",
    "supercalifragilisticexpialidocious antidisestablishmentarianism",
    "",
]
token_cases = [{"text": t, "ids": tokenizer(t)["input_ids"]} for t in TOKEN_PROMPTS]


# --- The model, at SD 1.5's shape and a tiny width. -------------------------------------------------
text_encoder = CLIPTextModel(CLIPTextConfig(
    vocab_size=49408, hidden_size=16, intermediate_size=64, num_hidden_layers=3, num_attention_heads=1,
    max_position_embeddings=77, hidden_act="quick_gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=49407))
randomize(text_encoder, 1)
unet = UNet2DConditionModel(
    sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 32, 32, 64),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=16, attention_head_dim=8, norm_num_groups=32)
randomize(unet, 2)
vae = AutoencoderKL(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, block_out_channels=(32, 32, 32, 32),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32, sample_size=64)
randomize(vae, 3)
# TAESD, the tiny distilled decoder, at a quarter of its real width (its real layout otherwise).
taesd = AutoencoderTiny(in_channels=3, out_channels=3, latent_channels=4,
                        encoder_block_out_channels=(16, 16, 16, 16), decoder_block_out_channels=(16, 16, 16, 16),
                        num_encoder_blocks=(1, 3, 3, 3), num_decoder_blocks=(3, 3, 3, 1))
randomize(taesd, 4)
for m in (text_encoder, unet, vae, taesd):
    m.eval()


# --- AUTOMATIC1111's single-file layout (CompVis names), checked by diffusers' own converters. ----
ldm = {}
ldm.update(unet_to_ldm(unet.state_dict()))
ldm.update(vae_to_ldm(vae.state_dict()))
# transformers 5 names CLIPTextModel's weights without the `text_model.` that checkpoints carry.
clip_sd = {"text_model." + k: v for k, v in text_encoder.state_dict().items() if not k.endswith("position_ids")}
ldm.update({"cond_stage_model.transformer." + k: v for k, v in clip_sd.items()})


same(single_file_utils.convert_ldm_unet_checkpoint(ldm, dict(unet.config)), unet.state_dict(), "unet")
same(single_file_utils.convert_ldm_vae_checkpoint(ldm, dict(vae.config)), vae.state_dict(), "vae")
same(single_file_utils.convert_ldm_clip_checkpoint(ldm), clip_sd, "clip")
save_file({k: v.contiguous().half() for k, v in ldm.items()}, os.path.join(out_dir, "model.safetensors"))
taesd_file = taesd_decoder_file(taesd)
save_file(taesd_file, os.path.join(out_dir, "taesd_decoder.safetensors"))

# --- The same SD 1.x model as a diffusers folder (save_pretrained's layout, float16, the weights
# above exactly), in a sibling folder, sd1-tiny-diffusers. ------------------------------------------
def save_folder(name, unet, vae, text_encoder, prediction):
    folder = os.path.join(os.path.dirname(os.path.abspath(out_dir)), name)
    for part, module in (("unet", unet), ("vae", vae), ("text_encoder", text_encoder)):
        copy.deepcopy(module).half().save_pretrained(os.path.join(folder, part))
    EulerDiscreteScheduler(prediction_type=prediction).save_config(os.path.join(folder, "scheduler"))
    with open(os.path.join(folder, "model_index.json"), "w", encoding="utf-8") as f:
        json.dump({"_class_name": "StableDiffusionPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
                   "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"],
                   "scheduler": ["diffusers", "EulerDiscreteScheduler"]}, f, indent=1)


save_folder("sd1-tiny-diffusers", unet, vae, text_encoder, "epsilon")

# --- The same model as stable-diffusion.cpp's GGUF: tensors under the same names, 2-D weights whose
# rows are whole 32-value blocks quantized (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 in turn), other weights F16,
# vectors F32. The expected values of this file come from its dequantized weights, loaded back into
# diffusers' models through diffusers' own converters.

import gguf
import numpy as np

QUANTS = [gguf.GGMLQuantizationType.Q8_0, gguf.GGMLQuantizationType.Q4_0, gguf.GGMLQuantizationType.Q4_1,
          gguf.GGMLQuantizationType.Q5_0, gguf.GGMLQuantizationType.Q5_1]
writer = gguf.GGUFWriter(os.path.join(out_dir, "model.gguf"), "stable-diffusion")
dequantized = {}
quantized_count = 0
for name in sorted(ldm):
    value = ldm[name].half().float().numpy()
    if value.ndim == 2 and value.shape[-1] % 32 == 0:
        qtype = QUANTS[quantized_count % len(QUANTS)]
        quantized_count += 1
        packed = gguf.quants.quantize(value, qtype)
        writer.add_tensor(name, packed, raw_dtype=qtype)
        dequantized[name] = torch.from_numpy(gguf.quants.dequantize(packed, qtype).reshape(value.shape).copy())
    elif value.ndim == 1:
        writer.add_tensor(name, value.astype(np.float32))
        dequantized[name] = torch.from_numpy(value.copy())
    else:
        writer.add_tensor(name, value.astype(np.float16))
        dequantized[name] = torch.from_numpy(value.copy())
writer.write_header_to_file()
writer.write_kv_data_to_file()
writer.write_tensors_to_file()
writer.close()
gguf_unet, gguf_vae, gguf_text = copy.deepcopy(unet), copy.deepcopy(vae), copy.deepcopy(text_encoder)
gguf_unet.load_state_dict(single_file_utils.convert_ldm_unet_checkpoint(dequantized, dict(unet.config)))
gguf_vae.load_state_dict(single_file_utils.convert_ldm_vae_checkpoint(dequantized, dict(vae.config)))
gguf_text.load_state_dict({k[len("text_model."):]: v for k, v in single_file_utils.convert_ldm_clip_checkpoint(dequantized).items()},
                          strict=False)

# --- Expected values. ---------------------------------------------------------------------------
expected = {}
PROMPT, NEGATIVE = "a photograph of an astronaut riding a horse", "blurry, low quality"
with torch.no_grad():
    ids = tokenizer(PROMPT, padding="max_length", max_length=77, return_tensors="pt").input_ids
    out = text_encoder(ids, output_hidden_states=True)
    expected["text.last"] = out.last_hidden_state[0]
    expected["text.skip2"] = text_encoder.final_layer_norm(out.hidden_states[-2])[0]
    neg_ids = tokenizer(NEGATIVE, padding="max_length", max_length=77, return_tensors="pt").input_ids
    context = torch.cat([text_encoder(neg_ids).last_hidden_state, out.last_hidden_state])

    # One UNet pass at a fractional timestep, on a latent that is not square.
    sample = torch.randn(2, 4, 8, 12, generator=torch.Generator().manual_seed(7))
    expected["unet.input"] = sample
    expected["unet.output"] = unet(sample, torch.tensor(631.5), encoder_hidden_states=context).sample

    latent = torch.randn(1, 4, 8, 12, generator=torch.Generator().manual_seed(8))
    expected["vae.input"] = latent
    expected["vae.output"] = vae.decode(latent / vae.config.scaling_factor).sample
    expected["taesd.output"] = taesd.decode(latent / taesd.config.scaling_factor).sample

    ids = tokenizer(PROMPT, padding="max_length", max_length=77, return_tensors="pt").input_ids
    neg_ids = tokenizer(NEGATIVE, padding="max_length", max_length=77, return_tensors="pt").input_ids
    expected["gguf.text.last"] = gguf_text(ids).last_hidden_state[0]
    gguf_context = torch.cat([gguf_text(neg_ids).last_hidden_state, gguf_text(ids).last_hidden_state])
    expected["gguf.unet.output"] = gguf_unet(expected["unet.input"], torch.tensor(631.5),
                                             encoder_hidden_states=gguf_context).sample
    expected["gguf.vae.output"] = gguf_vae.decode(latent / vae.config.scaling_factor).sample

# torch's CPU normal draws: a whole number of 16-value groups, a tail, and a second draw from the
# same generator.
g = torch.Generator().manual_seed(123456789)
expected["randn.seed123456789.a"] = torch.randn(64, generator=g)
expected["randn.seed123456789.b"] = torch.randn(37, generator=g)
expected["randn.seed5.latent"] = torch.randn(1, 4, 8, 8, generator=torch.Generator().manual_seed(5))

BETAS = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")
LINSPACE = dict(timestep_spacing="linspace")
SAMPLERS = {
    "Euler": EulerDiscreteScheduler(**BETAS, **LINSPACE),
    "Euler a": EulerAncestralDiscreteScheduler(**BETAS, **LINSPACE),
    "Heun": HeunDiscreteScheduler(**BETAS, **LINSPACE),
    "LMS": LMSDiscreteScheduler(**BETAS, **LINSPACE),
    "LMS Karras": LMSDiscreteScheduler(**BETAS, **LINSPACE, use_karras_sigmas=True),
    "DPM2": KDPM2DiscreteScheduler(**BETAS, **LINSPACE),
    "DPM2 Karras": KDPM2DiscreteScheduler(**BETAS, **LINSPACE, use_karras_sigmas=True),
    "DPM2 a": KDPM2AncestralDiscreteScheduler(**BETAS, **LINSPACE),
    "DPM2 a Karras": KDPM2AncestralDiscreteScheduler(**BETAS, **LINSPACE, use_karras_sigmas=True),
    "DPM++ 2M": DPMSolverMultistepScheduler(**BETAS, **LINSPACE, algorithm_type="dpmsolver++", solver_order=2),
    "DPM++ 2M Karras": DPMSolverMultistepScheduler(**BETAS, **LINSPACE, algorithm_type="dpmsolver++", solver_order=2,
                                                   use_karras_sigmas=True),
    "Euler Karras": EulerDiscreteScheduler(**BETAS, **LINSPACE, use_karras_sigmas=True),
    "DDIM": DDIMScheduler(**BETAS, timestep_spacing="linspace", clip_sample=False, set_alpha_to_one=False),
    "LCM": LCMScheduler(**BETAS, clip_sample=False, set_alpha_to_one=True),
}
GENERATION = dict(prompt=PROMPT, negative_prompt=NEGATIVE, width=96, height=64, steps=4, cfg=7.0, seed=42)
# --- A LoRA in kohya's format (sd-scripts' names: diffusers module paths with underscores), on the
# UNet's attention and feed-forward layers, a resnet's 3x3 convolution (LoCon) and the text
# encoder's attention and MLP; rank 4, alpha 2. diffusers (with PEFT) loads it and applies it at
# weight 0.8; the engine must compute the same.
LORA_WEIGHT = 0.8
lora = {}
lora.update(kohya_lora(unet, "lora_unet_", ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q",
                                            "attn2.to_k", "attn2.to_v", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2",
                                            "proj_in", "proj_out", "down_blocks.1.resnets.0.conv1"], 4, 5))
lora.update(kohya_lora(text_encoder, "lora_te_text_model_", ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj",
                                                             "self_attn.out_proj", "mlp.fc1", "mlp.fc2"], 4, 6))
save_file(lora, os.path.join(out_dir, "lora.safetensors"))

def run_samplers(samplers, vae, text_encoder, tokenizer, unet, expected):
    """Each sampler's whole generation: the latents after every model evaluation and the image go
    into `expected`; returns what each run was."""
    runs = []
    for name, scheduler in samplers.items():
        pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                       scheduler=scheduler, safety_checker=None, feature_extractor=None,
                                       requires_safety_checker=False)
        pipe.set_progress_bar_config(disable=True)
        steps = []

        def record(pipeline, index, timestep, kwargs):
            steps.append(kwargs["latents"].clone())
            return kwargs

        cfg = 1.0 if name == "LCM" else GENERATION["cfg"]
        with torch.no_grad():
            result = pipe(GENERATION["prompt"], negative_prompt=GENERATION["negative_prompt"],
                          width=GENERATION["width"], height=GENERATION["height"],
                          num_inference_steps=GENERATION["steps"], guidance_scale=cfg,
                          generator=torch.Generator().manual_seed(GENERATION["seed"]),
                          output_type="pt", callback_on_step_end=record)
        for i, latents in enumerate(steps):
            expected[f"sampler.{name}.step{i}"] = latents[0]
        expected[f"sampler.{name}.image"] = result.images[0]
        runs.append({"sampler": name, "cfg": cfg, "unet_calls": len(steps)})
    return runs


runs = run_samplers(SAMPLERS, vae, text_encoder, tokenizer, unet, expected)


# --- DPM++ 2S a, which diffusers has no scheduler for: k-diffusion's own sampler (what AUTOMATIC1111
# and ComfyUI run) over the same guided UNet, its noise drawn from the same seeded generator. -------
def load_k_diffusion():
    """k-diffusion's samplers without its package `__init__`, which imports its training code
    (torchvision, clean-fid, …); `utils` needs torchvision only for image helpers never called here."""
    import importlib.util
    import types
    for name in ("torchvision", "torchvision.transforms", "torchvision.transforms.functional"):
        sys.modules.setdefault(name, types.ModuleType(name))
    sys.modules["torchvision"].transforms = sys.modules["torchvision.transforms"]
    sys.modules["torchvision.transforms"].functional = sys.modules["torchvision.transforms.functional"]
    package = types.ModuleType("k_diffusion")
    package.__path__ = list(importlib.util.find_spec("k_diffusion").submodule_search_locations)
    sys.modules["k_diffusion"] = package
    import k_diffusion.external
    import k_diffusion.sampling
    return k_diffusion


def run_k_diffusion(k, name, karras, vae, text_encoder, tokenizer, unet, expected):
    """One whole generation with `k_diffusion.sampling.sample_dpmpp_2s_ancestral`; the latents
    after each evaluation are the ones the next evaluation is given, then the result."""
    pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                   scheduler=EulerDiscreteScheduler(**BETAS, **LINSPACE), safety_checker=None,
                                   feature_extractor=None, requires_safety_checker=False)
    cfg = GENERATION["cfg"]
    with torch.no_grad():
        positive, negative = pipe.encode_prompt(GENERATION["prompt"], "cpu", 1, True, GENERATION["negative_prompt"])
        context = torch.cat([negative, positive])

        class Guided(torch.nn.Module):
            def forward(self, x, t):
                u, c = unet(torch.cat([x, x]), t, encoder_hidden_states=context).sample.chunk(2)
                return u + cfg * (c - u)

        alphas = EulerDiscreteScheduler(**BETAS).alphas_cumprod
        denoiser = k.external.DiscreteEpsDDPMDenoiser(Guided(), alphas, quantize=False)
        inputs = []

        def model(x, sigma):
            inputs.append(x.clone())
            return denoiser(x, sigma)

        steps = GENERATION["steps"]
        sigmas = (k.sampling.get_sigmas_karras(steps, denoiser.sigma_min, denoiser.sigma_max) if karras
                  else denoiser.get_sigmas(steps))
        generator = torch.Generator().manual_seed(GENERATION["seed"])
        shape = (1, 4, GENERATION["height"] // 8, GENERATION["width"] // 8)
        x = torch.randn(shape, generator=generator) * sigmas[0]
        latents = k.sampling.sample_dpmpp_2s_ancestral(
            model, x, sigmas, disable=True, noise_sampler=lambda *_: torch.randn(shape, generator=generator))
        for i, step in enumerate(inputs[1:] + [latents]):
            expected[f"sampler.{name}.step{i}"] = step[0]
        image = vae.decode(latents / vae.config.scaling_factor).sample
        expected[f"sampler.{name}.image"] = (image / 2 + 0.5).clamp(0, 1)[0]
    return {"sampler": name, "cfg": cfg, "unet_calls": len(inputs)}


k_diffusion = load_k_diffusion()
runs += [run_k_diffusion(k_diffusion, name, karras, vae, text_encoder, tokenizer, unet, expected)
         for name, karras in [("DPM++ 2S a", False), ("DPM++ 2S a Karras", True)]]

# The LoRA applied: text embedding, one UNet pass, a whole Euler generation.
lora_pipe = StableDiffusionPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet,
                                    scheduler=EulerDiscreteScheduler(**BETAS, **LINSPACE), safety_checker=None,
                                    feature_extractor=None, requires_safety_checker=False)
lora_pipe.set_progress_bar_config(disable=True)
lora_pipe.load_lora_weights(out_dir, weight_name="lora.safetensors", adapter_name="tiny")
lora_pipe.set_adapters(["tiny"], adapter_weights=[LORA_WEIGHT])
with torch.no_grad():
    ids = tokenizer(PROMPT, padding="max_length", max_length=77, return_tensors="pt").input_ids
    expected["lora.text"] = text_encoder(ids).last_hidden_state[0]
    neg_ids = tokenizer(NEGATIVE, padding="max_length", max_length=77, return_tensors="pt").input_ids
    lora_context = torch.cat([text_encoder(neg_ids).last_hidden_state, text_encoder(ids).last_hidden_state])
    expected["lora.unet.output"] = unet(expected["unet.input"], torch.tensor(631.5),
                                        encoder_hidden_states=lora_context).sample
    lora_result = lora_pipe(GENERATION["prompt"], negative_prompt=GENERATION["negative_prompt"],
                            width=GENERATION["width"], height=GENERATION["height"],
                            num_inference_steps=GENERATION["steps"], guidance_scale=GENERATION["cfg"],
                            generator=torch.Generator().manual_seed(GENERATION["seed"]), output_type="pt")
    expected["lora.euler.image"] = lora_result.images[0]
lora_pipe.unload_lora_weights()

save_file({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(out_dir, "expected.safetensors"))
with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({
        "generated_by": f"scripts/reference/sd_reference.py with torch {torch.__version__}, "
                        f"diffusers {__import__('diffusers').__version__}",
        "tokens": token_cases, "prompt": PROMPT, "negative_prompt": NEGATIVE,
        "unet_timestep": 631.5, "generation": GENERATION, "samplers": runs, "lora_weight": LORA_WEIGHT,
    }, f, indent=1, ensure_ascii=False)
print("wrote", out_dir, sum(os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir)), "bytes")


# --- SD 2.x: OpenCLIP's text tower (GELU, read at its penultimate layer, padded with "!"), linear
# projections in and out of the UNet's attention, 16 heads at every level (diffusers' quirk: its
# `attention_head_dim` counts heads; the real models' heads are 64 wide, this file says it has 16
# heads in its metadata), and v-prediction. Written to a sibling folder, sd2-tiny. ----------------
sd2_dir = os.path.join(os.path.dirname(os.path.abspath(out_dir)), "sd2-tiny")
os.makedirs(sd2_dir, exist_ok=True)
sd2_tokenizer = CLIPTokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"),
                              pad_token="!", model_max_length=77)
TEXT_LAYERS = 3  # the file holds one more, which SD 2.x never uses (it reads the penultimate layer)
sd2_text_full = CLIPTextModel(CLIPTextConfig(
    vocab_size=49408, hidden_size=16, intermediate_size=64, num_hidden_layers=TEXT_LAYERS + 1, num_attention_heads=1,
    max_position_embeddings=77, hidden_act="gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=0))
randomize(sd2_text_full, 11)
sd2_text = CLIPTextModel(CLIPTextConfig(
    vocab_size=49408, hidden_size=16, intermediate_size=64, num_hidden_layers=TEXT_LAYERS, num_attention_heads=1,
    max_position_embeddings=77, hidden_act="gelu", bos_token_id=49406, eos_token_id=49407, pad_token_id=0))
sd2_text.load_state_dict({k: v for k, v in sd2_text_full.state_dict().items() if f"layers.{TEXT_LAYERS}." not in k})
sd2_unet = UNet2DConditionModel(
    sample_size=8, in_channels=4, out_channels=4, layers_per_block=1, block_out_channels=(32, 32, 32, 64),
    down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
    up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
    cross_attention_dim=16, attention_head_dim=16, use_linear_projection=True, norm_num_groups=32)
randomize(sd2_unet, 12)
sd2_vae = AutoencoderKL(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, block_out_channels=(32, 32, 32, 32),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32, sample_size=64)
randomize(sd2_vae, 13)
for m in (sd2_text_full, sd2_text, sd2_unet, sd2_vae):
    m.eval()


sd2_ldm = {}
sd2_ldm.update(unet_to_ldm(sd2_unet.state_dict()))
sd2_ldm.update(vae_to_ldm(sd2_vae.state_dict()))
sd2_ldm.update(openclip_to_ldm(sd2_text_full.state_dict(), TEXT_LAYERS + 1))
same(single_file_utils.convert_ldm_unet_checkpoint(sd2_ldm, dict(sd2_unet.config)), sd2_unet.state_dict(), "sd2 unet")
converted = single_file_utils.convert_open_clip_checkpoint(sd2_text, sd2_ldm)
expected_text = {"text_model." + k: v for k, v in sd2_text.state_dict().items() if not k.endswith("position_ids")}
same({k: v for k, v in converted.items() if k in expected_text or f"layers.{TEXT_LAYERS}." not in k}, expected_text, "sd2 clip")
save_file({k: v.contiguous().half() for k, v in sd2_ldm.items()}, os.path.join(sd2_dir, "model.safetensors"),
          metadata={"visioncraft.attention_heads": "16", "visioncraft.prediction": "v"})
# The same SD 2.x model as diffusers saves it: transformers' CLIP layout for the text tower, without
# the last layer (diffusers' SD 2.x folders hold the 23 layers that are used, not OpenCLIP's 24).
save_folder("sd2-tiny-diffusers", sd2_unet, sd2_vae, sd2_text, "v_prediction")

sd2_expected = {}
with torch.no_grad():
    ids = sd2_tokenizer(PROMPT, padding="max_length", max_length=77, return_tensors="pt").input_ids
    sd2_expected["text.ids"] = ids[0].float()
    sd2_expected["text.last"] = sd2_text(ids).last_hidden_state[0]
    neg_ids = sd2_tokenizer(NEGATIVE, padding="max_length", max_length=77, return_tensors="pt").input_ids
    sd2_context = torch.cat([sd2_text(neg_ids).last_hidden_state, sd2_text(ids).last_hidden_state])
    sample = torch.randn(2, 4, 8, 12, generator=torch.Generator().manual_seed(7))
    sd2_expected["unet.input"] = sample
    sd2_expected["unet.output"] = sd2_unet(sample, torch.tensor(631.5), encoder_hidden_states=sd2_context).sample

V = dict(prediction_type="v_prediction")
SD2_SAMPLERS = {
    "Euler": EulerDiscreteScheduler(**BETAS, **LINSPACE, **V),
    "Euler a": EulerAncestralDiscreteScheduler(**BETAS, **LINSPACE, **V),
    "DPM++ 2M": DPMSolverMultistepScheduler(**BETAS, **LINSPACE, **V, algorithm_type="dpmsolver++", solver_order=2),
    "DDIM": DDIMScheduler(**BETAS, timestep_spacing="linspace", clip_sample=False, set_alpha_to_one=False, **V),
    "LCM": LCMScheduler(**BETAS, clip_sample=False, set_alpha_to_one=True, **V),
}
sd2_runs = run_samplers(SD2_SAMPLERS, sd2_vae, sd2_text, sd2_tokenizer, sd2_unet, sd2_expected)
save_file({k: v.contiguous().float() for k, v in sd2_expected.items()}, os.path.join(sd2_dir, "expected.safetensors"))
with open(os.path.join(sd2_dir, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({"generated_by": "scripts/reference/sd_reference.py (SD 2.x part)", "prompt": PROMPT,
               "negative_prompt": NEGATIVE, "unet_timestep": 631.5, "generation": GENERATION, "samplers": sd2_runs},
              f, indent=1, ensure_ascii=False)
print("wrote", sd2_dir, sum(os.path.getsize(os.path.join(sd2_dir, n)) for n in os.listdir(sd2_dir)), "bytes")
