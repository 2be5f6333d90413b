"""`make bench-image`'s diffusers side: the same A1111 single file, converted by diffusers' own
converters, run in float32 on torch's CPU kernels with the given threads. Prints seconds per guided
UNet step (a batch of two latents: the prompt and the negative prompt) at 512², the VAE decode's
seconds, and the peak RSS while generating (the peak is reset after loading, so the loader's
temporary float copies, which diffusers' own loaders need not make, are not counted against it).

    python3 bench/image/diffusers_speed.py MODEL THREADS STEPS
"""
import gc
import sys
import time

import torch
from diffusers import AutoencoderKL, UNet2DConditionModel
from diffusers.loaders import single_file_utils
from safetensors.torch import load_file

path, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
ldm = {k: v.float() for k, v in load_file(path).items()}
unet = UNet2DConditionModel(cross_attention_dim=768)
unet.load_state_dict(single_file_utils.convert_ldm_unet_checkpoint(ldm, dict(unet.config)))
vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), down_block_types=("DownEncoderBlock2D",) * 4,
                    up_block_types=("UpDecoderBlock2D",) * 4, layers_per_block=2, latent_channels=4, sample_size=512)
vae.load_state_dict(single_file_utils.convert_ldm_vae_checkpoint(ldm, dict(vae.config)))
del ldm
unet.eval()
vae.eval()
gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM, the peak RSS

generator = torch.Generator().manual_seed(0)
latents = torch.randn((2, 4, 64, 64), generator=generator)
context = torch.randn((2, 77, 768), generator=generator)
times = []
with torch.inference_mode():
    for step in range(steps):
        start = time.perf_counter()
        out = unet(latents, torch.tensor([999 - 50 * step] * 2), encoder_hidden_states=context).sample
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    image = vae.decode(out[:1] / 0.18215).sample
    vae_seconds = time.perf_counter() - start
times.sort()
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"diffusers threads={threads} guided_step_s={times[len(times) // 2]:.2f} (median of {steps}; "
      f"best {times[0]:.2f}) vae_decode_s={vae_seconds:.2f} "
      f"peak_rss_mb={peak // 1024}")
