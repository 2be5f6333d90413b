"""Writes a model of Stable Diffusion 1.5's exact shape with random weights, float16, in
AUTOMATIC1111's single-file layout: what `make bench-image` runs through every implementation.
(No real checkpoint can be downloaded here; speed and memory depend on shapes, not on values.)

    python3 bench/image/make_sd15_model.py data/bench/sd15-random-f16.safetensors
"""
import os
import sys

import torch
from diffusers import AutoencoderKL, AutoencoderTiny, UNet2DConditionModel
from safetensors.torch import save_file
from transformers import CLIPTextConfig, CLIPTextModel

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../scripts/reference"))
from sd_layout import randomize, taesd_decoder_file, unet_to_ldm, vae_to_ldm  # noqa: E402

out = sys.argv[1]
os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
torch.manual_seed(0)
# diffusers' defaults are SD 1.5's UNet (320/640/1280/1280, two resnets per level, 8 heads)
# with 768-wide cross-attention, and VAE (128/256/512/512); CLIP ViT-L/14's text tower.
unet = UNet2DConditionModel(cross_attention_dim=768)
vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                    up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4, sample_size=512)
text = CLIPTextModel(CLIPTextConfig(vocab_size=49408, hidden_size=768, intermediate_size=3072, num_hidden_layers=12,
                                    num_attention_heads=12, max_position_embeddings=77, hidden_act="quick_gelu"))
for seed, module in enumerate((text, unet, vae)):
    randomize(module, seed)
ldm = unet_to_ldm(unet.state_dict(), layers=2)
ldm.update(vae_to_ldm(vae.state_dict()))
ldm.update({"cond_stage_model.transformer.text_model." + k: v for k, v in text.state_dict().items()
            if not k.endswith("position_ids")})
save_file({k: v.contiguous().half() for k, v in ldm.items()}, out)
print(f"{out}: {sum(v.numel() for v in ldm.values()) / 1e6:.0f} M parameters")

# TAESD at its real width, in its own file layout, beside the checkpoint.
taesd = AutoencoderTiny()
randomize(taesd, 3)
save_file(taesd_decoder_file(taesd), os.path.join(os.path.dirname(out) or ".", "taesd_decoder.safetensors"))
