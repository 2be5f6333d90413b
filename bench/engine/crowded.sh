#!/usr/bin/env bash
# More engines than cores: CROWD processes (default 4), each with THREADS compute threads (2), load
# the model and decode at the same time, first ours, then llama.cpp's; printed is the wall time
# until all are done and each one's decode rate. What a crowded machine does to threads that wait
# for each other by spinning (a test process holding a dozen servers, or replicas sharing a host).
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=${MODEL:-data/models/SmolLM2-135M-Instruct.Q4_1.gguf}
CROWD=${CROWD:-4}
THREADS=${THREADS:-2}
DECODE=${DECODE:-256}
ROUNDS=${ROUNDS:-2}
OUT=$(mktemp -d /tmp/vc-crowd.XXXXXX)
trap 'rm -rf "$OUT"' EXIT
crowd() {
  local name=$1; shift
  local start end
  start=$(date +%s.%N)
  for i in $(seq "$CROWD"); do "$@" >"$OUT/$i" 2>&1 & done
  wait
  end=$(date +%s.%N)
  printf '%s crowd=%s threads=%s wall_s=%.2f decode_tokens_per_s=%s\n' "$name" "$CROWD" "$THREADS" \
    "$(echo "$end - $start" | bc)" "$(grep -ho 'decode_tokens_per_s=[0-9.]*' "$OUT"/* | head -"$CROWD" | cut -d= -f2 | paste -sd,)"
}
# Rounds interleaved, so a slow spell of the shared machine falls on both sides alike.
for _ in $(seq "$ROUNDS"); do
  crowd visioncraft .build/release/visioncraft bench-engine --model "$MODEL" --decode-tokens "$DECODE" \
    --threads "$THREADS" --repeats 1 --streams 1
  crowd llama.cpp python3 bench/engine/llama_cpp_speed.py "$MODEL" 128 "$DECODE" "$THREADS" 1
done
