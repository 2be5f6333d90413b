"""Builds a tiny random-weight SDXL model with diffusers and writes what the diffusion engine's SDXL
tests compare against: both encoders' token ids, the conditioning (the rows both text encoders give
side by side and the pooled text), one UNet output with the extra conditioning, and the latents after
every step of a few samplers with the decoded image, from StableDiffusionXLPipeline.

The model has SDXL's architecture at a small width: CLIP ViT-L-style and OpenCLIP bigG-style text
towers over the real 49,408-token vocabulary (the second with its text projection), a three-level
UNet whose first level has no attention, a deeper transformer (two blocks) in the last level and the
`text_time` extra embedding, linear projections and 16-wide heads; the SD 1.x-shaped VAE with SDXL's
latent scale. Weights are rounded to float16 first, so the float16 file in AUTOMATIC1111's (sgm's)
single-file layout holds exactly the weights the values came from.

    pip install torch==2.13.0+cpu diffusers transformers safetensors scipy
    make model   # the CLIP vocabulary
    python3 scripts/reference/sdxl_reference.py data/models/clip/bpe_simple_vocab_16e6.txt \
        Tests/DiffusionEngineTests/Reference/sdxl-tiny
"""
import copy
import json
import os
import sys

import torch
from diffusers import (AutoencoderKL, DPMSolverMultistepScheduler, EulerAncestralDiscreteScheduler,
                       EulerDiscreteScheduler, StableDiffusionXLPipeline, UNet2DConditionModel)
from diffusers.loaders import single_file_utils
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sd_layout import (clip_tokenizer_files, kohya_lora, openclip_to_ldm, randomize, same, unet_to_ldm,  # noqa: E402
                       vae_to_ldm)

vocab_path, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
torch.manual_seed(0)

PROMPT = "a (red:1.2) fox in the snow, highly detailed"
NEGATIVE = "blurry, low quality"
GENERATION = dict(prompt=PROMPT, negative_prompt=NEGATIVE, width=96, height=64, steps=4, cfg=6.0, seed=7)
TIMESTEP = 631.5

tok_dir = clip_tokenizer_files(vocab_path)
vocab, merges = os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt")
tokenizer = CLIPTokenizer(vocab, merges, pad_token="<|endoftext|>", model_max_length=77)
tokenizer_2 = CLIPTokenizer(vocab, merges, pad_token="!", model_max_length=77)

CLIP = dict(vocab_size=49408, intermediate_size=32, num_hidden_layers=3, num_attention_heads=1,
            max_position_embeddings=77, bos_token_id=49406, eos_token_id=49407)
text_encoder = CLIPTextModel(CLIPTextConfig(**CLIP, hidden_size=8, hidden_act="quick_gelu", pad_token_id=49407))
randomize(text_encoder, 31)
text_encoder_2 = CLIPTextModelWithProjection(CLIPTextConfig(**CLIP, hidden_size=16, hidden_act="gelu", pad_token_id=0,
                                                            projection_dim=16))
randomize(text_encoder_2, 32)
unet = UNet2DConditionModel(
    sample_size=8, in_channels=4, out_channels=4, layers_per_block=2, block_out_channels=(32, 32, 32),
    down_block_types=("DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"),
    up_block_types=("CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"),
    transformer_layers_per_block=(1, 1, 2), attention_head_dim=(2, 2, 2), cross_attention_dim=24,
    use_linear_projection=True, addition_embed_type="text_time", addition_time_embed_dim=8,
    projection_class_embeddings_input_dim=6 * 8 + 16, norm_num_groups=32)
randomize(unet, 33)
vae = AutoencoderKL(
    in_channels=3, out_channels=3, latent_channels=4, layers_per_block=1, block_out_channels=(32, 32, 32, 32),
    down_block_types=("DownEncoderBlock2D",) * 4, up_block_types=("UpDecoderBlock2D",) * 4,
    norm_num_groups=32, sample_size=64, scaling_factor=0.13025)
randomize(vae, 34)
for m in (text_encoder, text_encoder_2, unet, vae):
    m.eval()

# --- sgm's single-file layout (what AUTOMATIC1111 and ComfyUI load), checked by diffusers' converters.
ldm = {}
unet_sd = unet.state_dict()
ldm.update(unet_to_ldm(unet_sd, layers=2, levels=3))
for a, b in [("add_embedding.linear_1", "label_emb.0.0"), ("add_embedding.linear_2", "label_emb.0.2")]:
    for kind in ("weight", "bias"):
        ldm[f"model.diffusion_model.{b}.{kind}"] = unet_sd[f"{a}.{kind}"]
ldm.update(vae_to_ldm(vae.state_dict()))
clip_sd = {"text_model." + k: v for k, v in text_encoder.state_dict().items() if not k.endswith("position_ids")}
ldm.update({"conditioner.embedders.0.transformer." + k: v for k, v in clip_sd.items()})
clip2_sd = text_encoder_2.state_dict()
ldm.update(openclip_to_ldm({k.removeprefix("text_model."): v for k, v in clip2_sd.items()}, 3,
                           prefix="conditioner.embedders.1.model.", projection=clip2_sd["text_projection.weight"]))
same(single_file_utils.convert_ldm_unet_checkpoint(ldm, dict(unet.config)), unet_sd, "sdxl unet")
same(single_file_utils.convert_ldm_vae_checkpoint(ldm, dict(vae.config)), vae.state_dict(), "sdxl vae")
same(single_file_utils.convert_ldm_clip_checkpoint(ldm, remove_prefix="conditioner.embedders.0.transformer."),
     clip_sd, "sdxl clip")
converted = single_file_utils.convert_open_clip_checkpoint(text_encoder_2, ldm, prefix="conditioner.embedders.1.model.")
same({k: v for k, v in converted.items() if not k.endswith("position_ids")},
     {k: v for k, v in clip2_sd.items() if not k.endswith("position_ids")},
     "sdxl openclip")
save_file({k: v.contiguous().half() for k, v in ldm.items()}, os.path.join(out_dir, "model.safetensors"),
          metadata={"visioncraft.attention_head_width": "16"})

# The same model as diffusers saves it (save_pretrained's folders, float16), in a sibling folder.
folder = os.path.join(os.path.dirname(os.path.abspath(out_dir)), "sdxl-tiny-diffusers")
for part, module in (("unet", unet), ("vae", vae), ("text_encoder", text_encoder), ("text_encoder_2", text_encoder_2)):
    copy.deepcopy(module).half().save_pretrained(os.path.join(folder, part))
EulerDiscreteScheduler(prediction_type="epsilon").save_config(os.path.join(folder, "scheduler"))
with open(os.path.join(folder, "model_index.json"), "w", encoding="utf-8") as f:
    json.dump({"_class_name": "StableDiffusionXLPipeline", "unet": ["diffusers", "UNet2DConditionModel"],
               "vae": ["diffusers", "AutoencoderKL"], "text_encoder": ["transformers", "CLIPTextModel"],
               "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
               "scheduler": ["diffusers", "EulerDiscreteScheduler"]}, f, indent=1)

pipe = StableDiffusionXLPipeline(vae=vae, text_encoder=text_encoder, text_encoder_2=text_encoder_2, tokenizer=tokenizer,
                                 tokenizer_2=tokenizer_2, unet=unet, scheduler=EulerDiscreteScheduler(),
                                 force_zeros_for_empty_prompt=True, add_watermarker=False)
pipe.set_progress_bar_config(disable=True)
expected = {}
with torch.no_grad():
    # The plain prompt (no emphasis syntax: diffusers reads brackets as text).
    plain = PROMPT.replace("(", "").replace(":1.2)", "")
    expected["text.ids"] = tokenizer(plain, padding="max_length", max_length=77, return_tensors="pt").input_ids[0].float()
    expected["text2.ids"] = tokenizer_2(plain, padding="max_length", max_length=77, return_tensors="pt").input_ids[0].float()
    context, negative, pooled, negative_pooled = pipe.encode_prompt(
        prompt=plain, device=torch.device("cpu"), num_images_per_prompt=1, do_classifier_free_guidance=True,
        negative_prompt=NEGATIVE)
    expected["plain.context"], expected["plain.pooled"] = context[0], pooled[0]
    expected["negative.context"], expected["negative.pooled"] = negative[0], negative_pooled[0]
    time_ids = torch.tensor([[64.0, 96.0, 0.0, 0.0, 64.0, 96.0]] * 2)
    sample = torch.randn(2, 4, 8, 12, generator=torch.Generator().manual_seed(9))
    expected["unet.input"] = sample
    expected["unet.output"] = unet(sample, torch.tensor(TIMESTEP), encoder_hidden_states=torch.cat([negative, context]),
                                   added_cond_kwargs={"text_embeds": torch.cat([negative_pooled, pooled]),
                                                      "time_ids": time_ids}).sample

BETAS = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
             timestep_spacing="linspace")
SAMPLERS = {
    "Euler": EulerDiscreteScheduler(**BETAS),
    "Euler a": EulerAncestralDiscreteScheduler(**BETAS),
    "DPM++ 2M Karras": DPMSolverMultistepScheduler(**BETAS, algorithm_type="dpmsolver++", solver_order=2,
                                                   use_karras_sigmas=True),
}
runs = []
# Each sampler with the plain prompt and the negative prompt; Euler once more with no negative
# prompt, which SDXL conditions on zeros (diffusers' `force_zeros_for_empty_prompt`, AUTOMATIC1111's
# empty negative prompt alike).
for name, scheduler, negative_prompt, key in [(n, s, NEGATIVE, n) for n, s in SAMPLERS.items()] + [
        ("Euler", EulerDiscreteScheduler(**BETAS), None, "Euler, no negative prompt")]:
    pipe.scheduler = scheduler
    steps = []

    def record(pipeline, index, timestep, kwargs):
        steps.append(kwargs["latents"].clone())
        return kwargs

    with torch.no_grad():
        result = pipe(plain, negative_prompt=negative_prompt, width=GENERATION["width"], height=GENERATION["height"],
                      num_inference_steps=GENERATION["steps"], guidance_scale=GENERATION["cfg"],
                      generator=torch.Generator().manual_seed(GENERATION["seed"]), output_type="pt",
                      callback_on_step_end=record)
    for i, latents in enumerate(steps):
        expected[f"sampler.{key}.step{i}"] = latents[0]
    expected[f"sampler.{key}.image"] = result.images[0]
    runs.append({"key": key, "sampler": name, "negative_prompt": negative_prompt or "", "unet_calls": len(steps)})

# --- A kohya LoRA for SDXL: the UNet's attention, feed-forward and a resnet's convolution, and both
# text encoders behind `lora_te1_` and `lora_te2_`; diffusers loads it and applies it at 0.8.
LORA_WEIGHT = 0.8
TEXT_MODULES = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj", "mlp.fc1", "mlp.fc2"]
lora = {}
lora.update(kohya_lora(unet, "lora_unet_", ["attn1.to_q", "attn1.to_k", "attn1.to_v", "attn1.to_out.0", "attn2.to_q",
                                            "attn2.to_k", "attn2.to_v", "attn2.to_out.0", "ff.net.0.proj", "ff.net.2",
                                            "proj_in", "proj_out", "down_blocks.0.resnets.1.conv1"], 4, 35))
# transformers 5 names CLIPTextModel's modules without `text_model.`, CLIPTextModelWithProjection's with it.
lora.update(kohya_lora(text_encoder, "lora_te1_text_model_", TEXT_MODULES, 4, 36))
lora.update(kohya_lora(text_encoder_2, "lora_te2_", TEXT_MODULES, 4, 37))
save_file(lora, os.path.join(out_dir, "lora.safetensors"))
pipe.load_lora_weights(out_dir, weight_name="lora.safetensors", adapter_name="tiny")
pipe.set_adapters(["tiny"], adapter_weights=[LORA_WEIGHT])
with torch.no_grad():
    context, negative, pooled, negative_pooled = pipe.encode_prompt(
        prompt=plain, device=torch.device("cpu"), num_images_per_prompt=1, do_classifier_free_guidance=True,
        negative_prompt=NEGATIVE)
    expected["lora.plain.context"], expected["lora.plain.pooled"] = context[0], pooled[0]
    expected["lora.unet.output"] = unet(sample, torch.tensor(TIMESTEP), encoder_hidden_states=torch.cat([negative, context]),
                                        added_cond_kwargs={"text_embeds": torch.cat([negative_pooled, pooled]),
                                                           "time_ids": time_ids}).sample
pipe.unload_lora_weights()
assert len([k for k in lora if k.startswith("lora_te2_")]) == 3 * len(TEXT_MODULES) * 3

save_file({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(out_dir, "expected.safetensors"))
with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({"generated_by": f"scripts/reference/sdxl_reference.py with torch {torch.__version__}, "
                               f"diffusers {__import__('diffusers').__version__}",
               "prompt": PROMPT, "plain_prompt": plain, "negative_prompt": NEGATIVE, "unet_timestep": TIMESTEP,
               "time_ids": [64, 96, 0, 0, 64, 96], "generation": GENERATION, "samplers": runs,
               "lora_weight": LORA_WEIGHT}, f, indent=1)
print("wrote", out_dir, {n: os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir)})
