#!/usr/bin/env bash
# make bench-tokenizer: the embedded tokenizer next to llama.cpp's (llama-cpp-python, built from its
# sdist) on the default model's vocabulary, 1 MiB of English and two 1 MiB single words, best of
# $REPEATS, with a digest of the ids on both sides; then /health's latency on the running server
# while it handles the largest bodies it accepts.
set -euo pipefail
cd "$(dirname "$0")/../.."
REPEATS=${REPEATS:-5}
MODEL=${MODEL:-data/models/SmolLM2-135M-Instruct.Q4_1.gguf}
PORT=${PORT:-18190}
bash scripts/fetch-default-model.sh "$(dirname "$MODEL")"
python3 -c "import llama_cpp" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check llama-cpp-python==0.3.36
swift build -c release --product visioncraft >/dev/null
WORK=$(mktemp -d /tmp/vc-tokenizer.XXXXXX)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
python3 bench/tokenizer/make_texts.py "$WORK"
FILES="$WORK/english.txt $WORK/word-a.txt $WORK/word-random.txt"
# Interleaved, so a slow spell of the shared machine falls on both sides alike.
for round in 1 2; do
  echo "round $round"
  .build/release/visioncraft bench-tokenizer --model "$MODEL" --repeats "$REPEATS" $FILES
  python3 bench/tokenizer/llama_cpp_tokenize.py "$MODEL" "$REPEATS" $FILES
done

mkdir -p "$WORK/data/models"
ln -s "$PWD/$MODEL" "$WORK/data/models/"
KEY=$(.build/release/visioncraft keys create --tier tier2 --data-dir "$WORK/data")
.build/release/visioncraft serve --data-dir "$WORK/data" --port "$PORT" --log-level error &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
python3 bench/tokenizer/health_probe.py "$PORT" "$KEY" SmolLM2-135M-Instruct $((20 * 1024 * 1024))
