#!/usr/bin/env bash
# make bench-engine: the embedded engine and llama.cpp (llama-cpp-python, built from its sdist) on
# the default model and on Gemma 3 270M (Q4_K_M), same prompt and decode lengths, 2 threads, figures
# side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-128}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
# The server's default order first, then llama.cpp's own (bit-identical output) for comparison.
ORDERS=${ORDERS:-blockwise llama-cpp}
# The default chat model (also the one the API part below streams from), then Gemma 3 270M Q4_K_M.
MODEL=${MODEL:-data/models/SmolLM2-135M-Instruct.Q4_1.gguf}
MODELS=${MODELS:-$MODEL data/models/gemma-3-270m.Q4_K_M.gguf}
bash scripts/fetch-default-model.sh "$(dirname "$MODEL")"
bash scripts/fetch-gemma3.sh data/models/gemma-3-270m.Q4_K_M.gguf
python3 -c "import llama_cpp" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
swift build -c release --product visioncraft >/dev/null
for ENGINE_MODEL in $MODELS; do
  echo "model: $ENGINE_MODEL, prompt $PROMPT tokens, decode $DECODE tokens, best of $REPEATS runs"
  for ORDER in $ORDERS; do
    .build/release/visioncraft bench-engine --model "$ENGINE_MODEL" --prompt-tokens "$PROMPT" --decode-tokens "$DECODE" \
      --threads "$THREADS" --repeats "$REPEATS" --product-order "$ORDER"
  done
  python3 bench/engine/llama_cpp_speed.py "$ENGINE_MODEL" "$PROMPT" "$DECODE" "$THREADS" "$REPEATS"
done

# The same decoding as a client sees it: through the server's streaming chat API, read by a raw
# SSE reader, one stream and then eight at once (compare with streams=1 and streams=8 above).
PORT=${PORT:-18194}
WORK=$(mktemp -d /tmp/vc-engine.XXXXXX)
mkdir -p "$WORK/data/models"
ln -s "$PWD/$MODEL" "$WORK/data/models/"
KEY=$(.build/release/visioncraft keys create --tier tier2 --data-dir "$WORK/data")
.build/release/visioncraft serve --data-dir "$WORK/data" --port "$PORT" --log-level error &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
NAME=$(basename "$MODEL" | sed 's/\.[^.]*\.gguf$//')
python3 bench/engine/api_stream.py "$PORT" "$KEY" "$NAME" "$((DECODE > 128 ? DECODE : 128))" "$REPEATS" 1,8
# The goal's figure: the API against the engine alone, rounds interleaved, the median ratio.
python3 bench/engine/api_vs_engine.py .build/release/visioncraft "$MODEL" "$PORT" "$KEY" "$NAME" 256 "${ROUNDS:-7}"
