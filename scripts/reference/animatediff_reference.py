"""Builds a tiny random-weight AnimateDiff motion module (diffusers' MotionAdapter, v2's layout with
its mid-block module) for the tiny SD 1.x fixture and writes what the diffusion engine's animation
tests compare against: one pass of the UNet with the motion module over a batch of frames, and the
latents after every step of AnimateDiffPipeline with the decoded frames, from one seed.

The SD 1.x model is read from the `sd1-tiny-diffusers` fixture (sd_reference.py writes it); the
motion module is saved in the original AnimateDiff layout (`…motion_modules.N.temporal_transformer.
…attention_blocks.0…`, what guoyww's, AnimateLCM's and most shared files use, checked against the
renaming diffusers' converter applies) and in diffusers' own (`…transformer_blocks.0.attn1…`).

    pip install torch==2.13.0+cpu diffusers transformers safetensors scipy
    python3 scripts/reference/animatediff_reference.py data/models/clip/bpe_simple_vocab_16e6.txt \
        Tests/DiffusionEngineTests/Reference/animatediff-tiny
"""
import json
import os
import sys

import torch
from diffusers import (AnimateDiffPipeline, AutoencoderKL, EulerAncestralDiscreteScheduler, EulerDiscreteScheduler,
                       MotionAdapter, UNet2DConditionModel, UNetMotionModel)
from safetensors.torch import save_file
from transformers import CLIPTextModel, CLIPTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from animatediff_layout import from_original, to_original  # noqa: E402
from sd_layout import clip_tokenizer_files, randomize, same  # noqa: E402

vocab_path, out_dir = sys.argv[1], sys.argv[2]
os.makedirs(out_dir, exist_ok=True)
sd1 = os.path.join(os.path.dirname(os.path.abspath(out_dir)), "sd1-tiny-diffusers")
torch.manual_seed(0)

tok_dir = clip_tokenizer_files(vocab_path)
tokenizer = CLIPTokenizer(os.path.join(tok_dir, "vocab.json"), os.path.join(tok_dir, "merges.txt"),
                          pad_token="<|endoftext|>", model_max_length=77)
unet = UNet2DConditionModel.from_pretrained(os.path.join(sd1, "unet"), torch_dtype=torch.float32).eval()
vae = AutoencoderKL.from_pretrained(os.path.join(sd1, "vae"), torch_dtype=torch.float32).eval()
text_encoder = CLIPTextModel.from_pretrained(os.path.join(sd1, "text_encoder"), torch_dtype=torch.float32).eval()

# v2's layout at the fixture's widths: a module after every resnet (and its attention) of each level,
# one in the middle block, eight heads as every released module has.
adapter = MotionAdapter(block_out_channels=unet.config.block_out_channels,
                        motion_layers_per_block=unet.config.layers_per_block, motion_num_attention_heads=8,
                        motion_norm_num_groups=32, motion_max_seq_length=32, use_motion_mid_block=True)
randomize(adapter, 41)
adapter.eval()
diffusers_sd = {k: v for k, v in adapter.state_dict().items() if not k.endswith("pos_embed.pe")}


original = {to_original(k): v for k, v in diffusers_sd.items()}
# The original files also carry each attention's sinusoidal table (diffusers recomputes it).
for k, v in adapter.state_dict().items():
    if k.endswith("transformer_blocks.0.pos_embed.pe"):
        base = to_original(k.replace(".pos_embed.pe", ".attn1.x")).removesuffix(".attention_blocks.0.x")
        original[base + ".attention_blocks.0.pos_encoder.pe"] = v
        original[base + ".attention_blocks.1.pos_encoder.pe"] = v
same({from_original(k): v for k, v in original.items() if "pos_encoder" not in k}, diffusers_sd, "motion module names")
save_file({k: v.contiguous().half() for k, v in original.items()}, os.path.join(out_dir, "motion.safetensors"))
save_file({k: v.contiguous().half() for k, v in diffusers_sd.items()}, os.path.join(out_dir, "motion-diffusers.safetensors"))

PROMPT, NEGATIVE = "a red fox running through snow", "blurry, low quality"
FRAMES, TIMESTEP = 8, 631.5
GENERATION = dict(prompt=PROMPT, negative_prompt=NEGATIVE, width=96, height=64, frames=FRAMES, steps=3, cfg=7.0, seed=11)
expected = {}
motion_unet = UNetMotionModel.from_unet2d(unet, adapter).eval()
pipe = AnimateDiffPipeline(vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, unet=unet, motion_adapter=adapter,
                           scheduler=EulerDiscreteScheduler(), feature_extractor=None, image_encoder=None)
pipe.set_progress_bar_config(disable=True)
with torch.no_grad():
    positive, negative = pipe.encode_prompt(PROMPT, torch.device("cpu"), 1, True, NEGATIVE)
    sample = torch.randn(2, 4, FRAMES, 8, 12, generator=torch.Generator().manual_seed(13))
    expected["unet.input"] = sample
    # The pipeline hands the model one text per frame.
    context = torch.cat([negative, positive]).repeat_interleave(FRAMES, dim=0)
    expected["unet.output"] = motion_unet(sample, torch.tensor(TIMESTEP), encoder_hidden_states=context).sample

BETAS = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
             timestep_spacing="linspace")
runs = []
for name, scheduler in [("Euler", EulerDiscreteScheduler(**BETAS)), ("Euler a", EulerAncestralDiscreteScheduler(**BETAS))]:
    pipe.scheduler = scheduler
    steps = []

    def record(pipeline, index, timestep, kwargs):
        steps.append(kwargs["latents"].clone())
        return kwargs

    with torch.no_grad():
        result = pipe(PROMPT, negative_prompt=NEGATIVE, num_frames=FRAMES, width=GENERATION["width"],
                      height=GENERATION["height"], num_inference_steps=GENERATION["steps"], guidance_scale=GENERATION["cfg"],
                      generator=torch.Generator().manual_seed(GENERATION["seed"]), output_type="pt",
                      callback_on_step_end=record)
    for i, latents in enumerate(steps):
        expected[f"sampler.{name}.step{i}"] = latents[0]
    expected[f"sampler.{name}.frames"] = result.frames[0]
    runs.append({"sampler": name, "unet_calls": len(steps)})

# --- More frames than the context: overlapping windows of CONTEXT frames (OVERLAP shared with the
# next, the last moved back to end at the last frame), each frame's guided prediction the mean of
# its windows'; otherwise the pipeline's own loop (prepare_latents, scale_model_input, step).
CONTEXT, OVERLAP, LONG = 8, 4, 14


def windows(frames, length, overlap):
    if frames <= length:
        return [range(frames)]
    out, start = [], 0
    while start + length < frames:
        out.append(range(start, start + length))
        start += length - overlap
    return out + [range(frames - length, frames)]


scheduler = EulerDiscreteScheduler(**BETAS)
scheduler.set_timesteps(GENERATION["steps"])
generator = torch.Generator().manual_seed(GENERATION["seed"])
latents = torch.randn((1, 4, LONG, GENERATION["height"] // 8, GENERATION["width"] // 8), generator=generator)
latents = latents * scheduler.init_noise_sigma
with torch.no_grad():
    for i, t in enumerate(scheduler.timesteps):
        model_input = scheduler.scale_model_input(latents, t)
        total, counts = torch.zeros_like(latents), torch.zeros(LONG)
        for window in windows(LONG, CONTEXT, OVERLAP):
            part = model_input[:, :, list(window)]
            context = torch.cat([negative, positive]).repeat_interleave(len(window), dim=0)
            u, c = motion_unet(torch.cat([part, part]), t, encoder_hidden_states=context).sample.chunk(2)
            total[:, :, list(window)] += u + GENERATION["cfg"] * (c - u)
            counts[list(window)] += 1
        latents = scheduler.step(total / counts.view(1, 1, -1, 1, 1), t, latents).prev_sample
        expected[f"windows.step{i}"] = latents[0]

save_file({k: v.contiguous().float() for k, v in expected.items()}, os.path.join(out_dir, "expected.safetensors"))
with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as f:
    json.dump({"generated_by": f"scripts/reference/animatediff_reference.py with torch {torch.__version__}, "
                               f"diffusers {__import__('diffusers').__version__}",
               "unet_timestep": TIMESTEP, "generation": GENERATION, "samplers": runs,
               "windows": {"frames": LONG, "context": CONTEXT, "overlap": OVERLAP, "sampler": "Euler"},
               "frames_layout": "latents (channels, frames, height, width); frames (frames, channels, height, width) in [0, 1]"},
              f, indent=1)
print("wrote", out_dir, {n: os.path.getsize(os.path.join(out_dir, n)) for n in os.listdir(out_dir)})
