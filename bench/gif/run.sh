#!/usr/bin/env bash
# make bench-gif: AnimateDiff in one run, our engine beside diffusers (UNetMotionModel on torch's
# CPU kernels): the SD 1.5-shaped random model of bench-image with a full-size random v2 motion
# module, 16 frames at 256², 4 Euler steps at cfg 7, 2 threads each, one after the other.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-4}
FRAMES=${FRAMES:-16}
SIZE=${SIZE:-256}
MODEL=${MODEL:-data/bench/sd15-random-f16.safetensors}
MOTION=${MOTION:-data/bench/mm-v2-random-f16.safetensors}
python3 -c "import diffusers, transformers, safetensors" 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check torch==2.13.0+cpu diffusers transformers safetensors
[ -f "$MODEL" ] || python3 bench/image/make_sd15_model.py "$MODEL"
[ -f "$MOTION" ] || python3 bench/gif/make_motion_module.py "$MOTION"
make -s model >/dev/null
swift build -c release --product visioncraft >/dev/null
echo "model: $MODEL + $MOTION (random weights), $FRAMES frames at ${SIZE}², Euler, cfg 7, $THREADS threads"
.build/release/visioncraft bench-gif --model "$MODEL" --motion "$MOTION" --threads "$THREADS" --steps "$STEPS" \
  --frames "$FRAMES" --size "$SIZE"
python3 bench/gif/diffusers_speed.py "$MODEL" "$MOTION" "$THREADS" "$STEPS" "$FRAMES" "$SIZE" 2>&1 | grep '^diffusers'
