#!/usr/bin/env bash
# make bench-hardening: what an unauthenticated body flood costs the server's memory (goal: the
# attack adds under 100 MB), on the release build with the default model loaded.
set -euo pipefail
cd "$(dirname "$0")/../.."
PORT=${PORT:-18192}
bash scripts/fetch-default-model.sh data/models
swift build -c release --product visioncraft >/dev/null
WORK=$(mktemp -d /tmp/vc-hardening.XXXXXX)
SERVER=
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
mkdir -p "$WORK/data/models"
ln -s "$PWD/data/models/SmolLM2-135M-Instruct.Q4_1.gguf" "$WORK/data/models/"
.build/release/visioncraft serve --data-dir "$WORK/data" --port "$PORT" --log-level error &
SERVER=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
for round in 1 2 3; do python3 bench/hardening/body_flood.py "$PORT" "$SERVER"; done
