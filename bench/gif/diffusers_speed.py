"""`make bench-gif`'s diffusers side: the same checkpoint and motion module (converted by diffusers'
own converters) as UNetMotionModel in float32 on torch's CPU kernels with the given threads, the
frames at the given side. Prints seconds per guided step (a batch of two: the prompt and the
negative prompt, every frame), the VAE decode of every frame, and the peak RSS while generating
(reset after loading, as in bench/image/diffusers_speed.py).

    python3 bench/gif/diffusers_speed.py MODEL MOTION THREADS STEPS FRAMES SIZE
"""
import gc
import os
import sys
import time

import torch
from diffusers import MotionAdapter, UNetMotionModel
from safetensors.torch import load_file

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "scripts", "reference"))
sys.path.insert(0, os.path.join(here, "..", "image"))
from animatediff_layout import from_original  # noqa: E402
from sd15_diffusers import load_unet_and_vae  # noqa: E402

path, motion, threads, steps, frames, size = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:7])
torch.set_num_threads(threads)
unet, vae = load_unet_and_vae(path)
adapter = MotionAdapter()
adapter.load_state_dict({from_original(k): v.float() for k, v in load_file(motion).items()}, strict=False)
model = UNetMotionModel.from_unet2d(unet, adapter).eval()
del unet, adapter
gc.collect()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # resets VmHWM, the peak RSS

generator = torch.Generator().manual_seed(0)
side = size // 8
latents = torch.randn((2, 4, frames, side, side), generator=generator)
context = torch.randn((2, 77, 768), generator=generator).repeat_interleave(frames, dim=0)
times = []
with torch.inference_mode():
    begin = time.perf_counter()
    for step in range(steps):
        start = time.perf_counter()
        out = model(latents, torch.tensor(999 - 250 * step), encoder_hidden_states=context).sample
        times.append(time.perf_counter() - start)
    start = time.perf_counter()
    video = out[:1].permute(0, 2, 1, 3, 4).reshape(frames, 4, side, side)
    decoded = torch.cat([vae.decode(chunk / 0.18215).sample for chunk in video.split(16)])
    decode_seconds = time.perf_counter() - start
    total = time.perf_counter() - begin
times.sort()
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(f"diffusers frames={frames} size={size} threads={threads} guided_step_s={times[len(times) // 2]:.2f} "
      f"(median of {steps}; best {times[0]:.2f}) decode_s={decode_seconds:.2f} steps_and_decode_s={total:.2f} "
      f"peak_rss_mb={peak // 1024}")
