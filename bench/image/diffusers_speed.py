"""`make bench-image`'s diffusers side: the same A1111 single file, converted by diffusers' own
converters, run in float32 on torch's CPU kernels with the given threads. Prints seconds per guided
UNet step (a batch of two latents: the prompt and the negative prompt) at 512², the VAE decode's
seconds, and the peak RSS while generating (the peak is reset after loading, so the loader's
temporary float copies, which diffusers' own loaders need not make, are not counted against it).

    python3 bench/image/diffusers_speed.py MODEL THREADS STEPS
"""
import gc
import os
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sd15_diffusers import load_unet_and_vae  # noqa: E402

path, threads, steps = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
unet, vae = load_unet_and_vae(path)
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
