#!/usr/bin/env bash
# make bench-gateway: VisionCraft and LiteLLM's proxy in front of the same nginx mock of an
# OpenAI-compatible upstream, loaded by wrk on this machine in one run, figures side by side.
#   - highest sustained rate: wrk with $CONNECTIONS connections, as fast as they go;
#   - added latency: wrk held near each of $FIXED_RATES requests/s, through each gateway and to the mock
#     directly; the gateway's p50/p99 minus the mock's. VisionCraft's GET /health (no key, no
#     upstream) at the same rate shows what the HTTP framework alone adds.
# VisionCraft runs with auth, limits and usage recording on (a Tier 1 key whose chat limits are
# raised to be out of the way, so the limiter still runs on every request).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-32}
FIXED_RATES=${FIXED_RATES:-"500 2000"}
FIXED_CONNECTIONS=${FIXED_CONNECTIONS:-20}
LITELLM_VERSION=${LITELLM_VERSION:-1.106.0}
LITELLM_WORKERS=${LITELLM_WORKERS:-2}
MOCK_PORT=18181 VC_PORT=18182 LITELLM_PORT=18183
WORK=$(mktemp -d /tmp/vc-bench.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT

# --- tools -------------------------------------------------------------------------------------
source "$ROOT/bench/lib/mock-upstream.sh"
ensure_load_tools
if ! python3 -c "import litellm, sys; sys.exit(0 if litellm.__version__ == '$LITELLM_VERSION' else 1)" 2>/dev/null \
   && ! python3 -m pip show litellm 2>/dev/null | grep -q "^Version: $LITELLM_VERSION$"; then
  python3 -m pip install --quiet --disable-pip-version-check "litellm[proxy]==$LITELLM_VERSION"
fi
swift build -c release --product visioncraft >/dev/null
BIN=$ROOT/.build/release/visioncraft

start_mock_upstream "$WORK" "$MOCK_PORT"

# --- VisionCraft --------------------------------------------------------------------------------
cat > "$WORK/visioncraft.json" <<CONF
{
  "tiers": {
    "free": {"display_name": "Free", "concurrency": 1, "chat": {"rate": {"requests": 1, "seconds": 1}, "per_day": 200}, "image": {}, "gif": {}},
    "tier1": {"display_name": "Tier 1", "concurrency": 100000, "chat": {"rate": {"requests": 1000000, "seconds": 1}, "per_day": 1000000000}, "image": {}, "gif": {}},
    "tier2": {"display_name": "Tier 2", "chat": {}, "image": {}, "gif": {}}
  },
  "chat_models": [{"name": "bench-model", "backends": [{"kind": "openai", "base_url": "http://127.0.0.1:$MOCK_PORT/v1", "model": "mock"}]}]
}
CONF
VC_KEY=$("$BIN" keys create --tier tier1 --label bench --data-dir "$WORK/vc")
"$BIN" serve --data-dir "$WORK/vc" --config "$WORK/visioncraft.json" --port $VC_PORT --log-level error &
PIDS+=($!)

# --- LiteLLM's proxy -----------------------------------------------------------------------------
cat > "$WORK/litellm.yaml" <<CONF
model_list:
  - model_name: bench-model
    litellm_params:
      model: openai/mock
      api_base: http://127.0.0.1:$MOCK_PORT/v1
      api_key: mock
general_settings:
  master_key: sk-bench
CONF
(cd "$WORK" && exec litellm --config "$WORK/litellm.yaml" --host 127.0.0.1 --port $LITELLM_PORT \
   --num_workers "$LITELLM_WORKERS" >"$WORK/litellm.log" 2>&1) &
PIDS+=($!)

wait_for "http://127.0.0.1:$VC_PORT/health"
wait_for "http://127.0.0.1:$LITELLM_PORT/health/liveliness"

load() {  # name url key connections delay_ms
  BENCH_KEY=$3 BENCH_DELAY_MS=$5 wrk -t2 -c"$4" -d"$DURATION" --timeout 10s -s "$ROOT/bench/gateway/post.lua" "$2" \
    | grep '^RESULT' | sed "s/^RESULT/$1/"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }

# Warm up every path once.
for target in "mock http://127.0.0.1:$MOCK_PORT/v1/chat/completions none" \
              "visioncraft http://127.0.0.1:$VC_PORT/v1/chat/completions $VC_KEY" \
              "litellm http://127.0.0.1:$LITELLM_PORT/v1/chat/completions sk-bench"; do
  set -- $target
  DURATION=3s load "$1" "$2" "$3" 8 0 >/dev/null
done

echo "== highest sustained rate: $CONNECTIONS connections, $DURATION each"
MOCK_MAX=$(load mock "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" none "$CONNECTIONS" 0)
VC_MAX=$(load visioncraft "http://127.0.0.1:$VC_PORT/v1/chat/completions" "$VC_KEY" "$CONNECTIONS" 0)
LITE_MAX=$(load litellm "http://127.0.0.1:$LITELLM_PORT/v1/chat/completions" sk-bench "$CONNECTIONS" 0)
printf '%-12s %12s %10s %10s %8s\n' target "requests/s" "p50 ms" "p99 ms" errors
for line in "$MOCK_MAX" "$VC_MAX" "$LITE_MAX"; do
  printf '%-12s %12s %10.2f %10.2f %8s\n' "${line%% *}" "$(field "$line" rps)" \
    "$(echo "$(field "$line" p50) / 1000" | bc -l)" "$(echo "$(field "$line" p99) / 1000" | bc -l)" "$(field "$line" errors)"
done
echo "visioncraft / litellm sustained rate: $(echo "$(field "$VC_MAX" rps) / $(field "$LITE_MAX" rps)" | bc -l | xargs printf '%.1f')x"

for FIXED_RATE in $FIXED_RATES; do
DELAY=$(( FIXED_CONNECTIONS * 1000 / FIXED_RATE ))
echo
echo "== added latency near $FIXED_RATE requests/s ($FIXED_CONNECTIONS connections, one request per ${DELAY} ms each)"
MOCK_FIXED=$(load mock "http://127.0.0.1:$MOCK_PORT/v1/chat/completions" none "$FIXED_CONNECTIONS" "$DELAY")
VC_FIXED=$(load visioncraft "http://127.0.0.1:$VC_PORT/v1/chat/completions" "$VC_KEY" "$FIXED_CONNECTIONS" "$DELAY")
# The floor under any gateway work: the HTTP framework answering GET /health, no key, no upstream.
VC_HEALTH=$(BENCH_METHOD=GET load vc-health "http://127.0.0.1:$VC_PORT/health" none "$FIXED_CONNECTIONS" "$DELAY")
printf '%-12s %12s %10s %10s %14s %14s\n' target "requests/s" "p50 ms" "p99 ms" "added p50 ms" "added p99 ms"
for line in "$MOCK_FIXED" "$VC_FIXED" "$VC_HEALTH"; do
  printf '%-12s %12s %10.3f %10.3f %14.3f %14.3f\n' "${line%% *}" "$(field "$line" rps)" \
    "$(echo "$(field "$line" p50) / 1000" | bc -l)" "$(echo "$(field "$line" p99) / 1000" | bc -l)" \
    "$(echo "($(field "$line" p50) - $(field "$MOCK_FIXED" p50)) / 1000" | bc -l)" \
    "$(echo "($(field "$line" p99) - $(field "$MOCK_FIXED" p99)) / 1000" | bc -l)"
done
done
echo
echo "usage rows recorded by visioncraft: $(sqlite3 "$WORK/vc/visioncraft.sqlite" 'SELECT COUNT(*) FROM usage_events' 2>/dev/null || echo 'n/a (sqlite3 not installed)')"
