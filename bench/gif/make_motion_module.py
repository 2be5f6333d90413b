"""`make bench-gif`'s motion module: AnimateDiff v2's shape at full size (diffusers' MotionAdapter
defaults: 320/640/1280/1280 channels, two modules per down level and three per up level, the mid-
block module, eight heads, 32 frame positions) with random weights, saved in float16 in the
original layout (what guoyww's mm_sd_v15_v2 files use).

    python3 bench/gif/make_motion_module.py data/bench/mm-v2-random-f16.safetensors
"""
import os
import sys

import torch
from diffusers import MotionAdapter
from safetensors.torch import save_file

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "scripts", "reference"))
from sd_layout import randomize  # noqa: E402
from animatediff_layout import to_original  # noqa: E402

out = sys.argv[1]
adapter = MotionAdapter()
randomize(adapter, 7)
state = {to_original(k): v.half() for k, v in adapter.state_dict().items() if not k.endswith("pos_embed.pe")}
os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
save_file(state, out)
print("wrote", out, os.path.getsize(out) // 2**20, "MB,", sum(v.numel() for v in state.values()) // 10**6, "M weights")
