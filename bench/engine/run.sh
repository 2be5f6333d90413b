#!/usr/bin/env bash
# make bench-engine: the embedded engine and llama.cpp (llama-cpp-python, built from its sdist) on
# the default model, same prompt and decode lengths, 2 threads, one run, figures side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
PROMPT=${PROMPT:-128}
DECODE=${DECODE:-128}
THREADS=${THREADS:-2}
REPEATS=${REPEATS:-5}
# The server's default order first, then llama.cpp's own (bit-identical output) for comparison.
ORDERS=${ORDERS:-blockwise llama-cpp}
MODEL=${MODEL:-data/models/SmolLM2-135M-Instruct.Q4_1.gguf}
bash scripts/fetch-default-model.sh "$(dirname "$MODEL")"
python3 -c "import llama_cpp" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
swift build -c release --product visioncraft >/dev/null
echo "model: $MODEL, prompt $PROMPT tokens, decode $DECODE tokens, best of $REPEATS runs"
for ORDER in $ORDERS; do
  .build/release/visioncraft bench-engine --model "$MODEL" --prompt-tokens "$PROMPT" --decode-tokens "$DECODE" \
    --threads "$THREADS" --repeats "$REPEATS" --product-order "$ORDER"
done
python3 bench/engine/llama_cpp_speed.py "$MODEL" "$PROMPT" "$DECODE" "$THREADS" "$REPEATS"
