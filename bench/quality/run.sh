#!/usr/bin/env bash
# make bench-quality: perplexity by llama-perplexity's method over a fixed public text (the GNU GPL
# v3, bench/quality/gpl-3.0.txt: ~8,000 tokens of English that may be copied verbatim), for the
# embedded engine in each product order and for llama.cpp (llama-cpp-python), same context size and
# chunks, figures side by side, on the default model and on Gemma 3 270M (Q4_K_M). The goal: the
# default order within 0.5% of llama.cpp's.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONTEXT=${CONTEXT:-512}
CHUNKS=${CHUNKS:-0}
THREADS=${THREADS:-2}
ORDERS=${ORDERS:-blockwise llama-cpp}
TEXT=${TEXT:-bench/quality/gpl-3.0.txt}
MODELS=${MODELS:-data/models/SmolLM2-135M-Instruct.Q4_1.gguf data/models/gemma-3-270m.Q4_K_M.gguf}
bash scripts/fetch-default-model.sh data/models
bash scripts/fetch-gemma3.sh data/models/gemma-3-270m.Q4_K_M.gguf
python3 -c "import llama_cpp" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
swift build -c release --product visioncraft >/dev/null
CHUNK_ARGS=()
[ "$CHUNKS" -gt 0 ] && CHUNK_ARGS=(--chunks "$CHUNKS")
for MODEL in $MODELS; do
  echo "model: $MODEL, text: $TEXT, context $CONTEXT"
  REFERENCE=$(python3 bench/quality/llama_perplexity.py "$MODEL" "$TEXT" "$CONTEXT" "$CHUNKS" "$THREADS" 2>/dev/null)
  echo "  $REFERENCE"
  BASE=$(echo "$REFERENCE" | sed -E 's/.*perplexity ([0-9.]+).*/\1/')
  for ORDER in $ORDERS; do
    OURS=$(.build/release/visioncraft bench-quality --model "$MODEL" --text "$TEXT" --context "$CONTEXT" \
      --threads "$THREADS" --product-order "$ORDER" "${CHUNK_ARGS[@]}" 2>/dev/null)
    VALUE=$(echo "$OURS" | sed -E 's/.*perplexity ([0-9.]+).*/\1/')
    echo "  $OURS — $(python3 -c "print(f'{($VALUE / $BASE - 1) * 100:+.2f}% against llama.cpp')")"
  done
done
