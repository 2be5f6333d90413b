#!/usr/bin/env bash
# stable-diffusion.cpp as a server keeps its models loaded, as ours does (its command-line program
# frees each model after use): one 512² image through sd-server's AUTOMATIC1111-style API, then
# the server's peak RSS. Usage: sdcpp_server_rss.sh MODEL THREADS STEPS
set -euo pipefail
cd "$(dirname "$0")/../.."
MODEL=$1 THREADS=$2 STEPS=$3 PORT=${SDCPP_PORT:-18234}
.build/sdcpp/sd-server -m "$MODEL" -t "$THREADS" --listen-port "$PORT" >/tmp/bench-sd-server.log 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 600); do
  curl -sf "http://127.0.0.1:$PORT/sdapi/v1/samplers" >/dev/null 2>&1 && break
  kill -0 $SERVER 2>/dev/null || { tail -5 /tmp/bench-sd-server.log; exit 1; }
  sleep 0.5
done
curl -sf "http://127.0.0.1:$PORT/sdapi/v1/txt2img" -H 'Content-Type: application/json' -d "{\"prompt\": \"a photograph of a cat\",
  \"negative_prompt\": \"blurry\", \"steps\": $STEPS, \"width\": 512, \"height\": 512, \"cfg_scale\": 7,
  \"sampler_name\": \"Euler\", \"seed\": 1}" >/dev/null
echo "stable-diffusion.cpp server (models kept loaded) peak_rss_mb=$(( $(grep VmHWM /proc/$SERVER/status | awk '{print $2}') / 1024 ))"
