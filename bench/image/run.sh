#!/usr/bin/env bash
# make bench-image: one SD 1.5-shaped model (random weights, float16, AUTOMATIC1111 single file)
# through the embedded engine, stable-diffusion.cpp (from the sdist of stable-diffusion-cpp-python
# 0.4.7) and diffusers on torch's CPU kernels: 512², Euler, cfg 7, 2 threads each, one after
# another in the same run. Seconds per guided UNet step, VAE decode seconds, peak RSS.
set -euo pipefail
cd "$(dirname "$0")/../.."
THREADS=${THREADS:-2}
STEPS=${STEPS:-3}
MODEL=${MODEL:-data/bench/sd15-random-f16.safetensors}
PRECISIONS=${PRECISIONS:-bfloat16}
python3 -c "import diffusers, transformers, safetensors" 2>/dev/null ||
  python3 -m pip install --quiet --disable-pip-version-check torch==2.13.0+cpu diffusers transformers safetensors
[ -f "$MODEL" ] || python3 bench/image/make_sd15_model.py "$MODEL"
make -s model >/dev/null
bash bench/image/build_sdcpp.sh
swift build -c release --product visioncraft >/dev/null
echo "model: $MODEL (SD 1.5 shapes, random weights), 512x512, Euler, cfg 7, $THREADS threads"

for PRECISION in $PRECISIONS; do
  .build/release/visioncraft bench-image --model "$MODEL" --taesd "$(dirname "$MODEL")/taesd_decoder.safetensors" \
    --threads "$THREADS" --steps "$STEPS" --precision "$PRECISION"
done

# stable-diffusion.cpp reports the sampling and decoding times itself; steps+1 steps less one step
# gives one step without the first step's warm-up, as the others' medians leave it out.
LOG=$(mktemp)
run_sdcpp() {
  /usr/bin/time -f "peak_rss_kb=%M" .build/sdcpp/sd-cli -m "$MODEL" -p "a photograph of a cat" -n "blurry" \
    --steps "$1" -W 512 -H 512 --cfg-scale 7 --sampling-method euler -t "$THREADS" -s 1 -o /tmp/bench-sdcpp.png >"$LOG" 2>&1
  SAMPLING=$(grep -o 'sampling completed, taking [0-9.]*' "$LOG" | grep -o '[0-9.]*$')
  DECODE=$(grep -o 'decode_first_stage completed, taking [0-9.]*' "$LOG" | grep -o '[0-9.]*$')
  PEAK=$(grep -o 'peak_rss_kb=[0-9]*' "$LOG" | grep -o '[0-9]*$')
}
run_sdcpp 1; ONE=$SAMPLING
run_sdcpp $((STEPS + 1)); MORE=$SAMPLING
python3 -c "print(f'stable-diffusion.cpp threads=$THREADS guided_step_s={($MORE - $ONE) / $STEPS:.2f} (mean of $STEPS after the first) vae_decode_s=$DECODE peak_rss_mb={$PEAK // 1024}')"
rm -f "$LOG"
# Its command-line program frees the text encoder after encoding and the UNet before decoding; as a
# server it keeps them loaded, as ours does.
bash bench/image/sdcpp_server_rss.sh "$MODEL" "$THREADS" 1

python3 bench/image/diffusers_speed.py "$MODEL" "$THREADS" "$STEPS" 2>&1 | grep '^diffusers'
