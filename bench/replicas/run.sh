#!/usr/bin/env bash
# make bench-replicas: three `visioncraft serve` replicas on one PostgreSQL in front of the nginx
# mock upstream (bench-gateway's), next to one replica on SQLite, in one run on this machine — all
# processes share its cores. wrk's threads are spread over the replicas (a round-robin balancer's
# share); auth, limits and usage recording are on for every request. Then a burst of 1,000
# concurrent requests from keys with known limits: how many got through against how many should.
# PostgreSQL is the throwaway server of scripts/with-test-postgres.sh (installed if missing).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
if [ -z "${VISIONCRAFT_TEST_POSTGRES_URL:-}" ]; then exec bash scripts/with-test-postgres.sh bash "$0" "$@"; fi
DURATION=${DURATION:-10s}
CONNECTIONS=${CONNECTIONS:-48}
ROUNDS=${ROUNDS:-3}
MOCK_PORT=18191 SQLITE_PORT=18192 PG_PORTS="18193 18194 18195"
WORK=$(mktemp -d /tmp/vc-bench-replicas.XXXXXX)
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

source "$ROOT/bench/lib/mock-upstream.sh"
ensure_load_tools
python3 -c "import httpx" 2>/dev/null || python3 -m pip install --quiet --disable-pip-version-check httpx
swift build -c release --product visioncraft >/dev/null
BIN=$ROOT/.build/release/visioncraft
start_mock_upstream "$WORK" "$MOCK_PORT"

# Free: limits too high to bind (the throughput keys; the limiter still runs on every request,
# counting the day and holding a generation slot); Tier 1: 5 chat requests a minute; Tier 2: 7 a
# day (the burst's keys).
cat > "$WORK/visioncraft.json" <<CONF
{
  "tiers": {
    "free": {"display_name": "Free", "concurrency": 100000, "chat": {"per_day": 1000000000}, "image": {}, "gif": {}},
    "tier1": {"display_name": "Tier 1", "chat": {"rate": {"requests": 5, "seconds": 60}}, "image": {}, "gif": {}},
    "tier2": {"display_name": "Tier 2", "chat": {"per_day": 7}, "image": {}, "gif": {}}
  },
  "chat_models": [{"name": "bench-model", "backends": [{"kind": "openai", "base_url": "http://127.0.0.1:$MOCK_PORT/v1", "model": "mock"}]}]
}
CONF
DB="${VISIONCRAFT_TEST_POSTGRES_URL/\/postgres\?/\/vcbench?}"
psql -q "$VISIONCRAFT_TEST_POSTGRES_URL" -c "CREATE DATABASE vcbench" >/dev/null

"$BIN" serve --data-dir "$WORK/sqlite" --config "$WORK/visioncraft.json" --port $SQLITE_PORT --log-level error &
PIDS+=($!)
"$BIN" db migrate --database "$DB" >/dev/null
for port in $PG_PORTS; do
  "$BIN" serve --database "$DB" --data-dir "$WORK/pg-$port" --config "$WORK/visioncraft.json" --port "$port" --log-level error &
  PIDS+=($!)
done
# $KEYS users' keys on each side (wrk's requests take them in turn): a shared API's traffic.
KEYS=${KEYS:-64}
SQLITE_KEY=$(for _ in $(seq 1 "$KEYS"); do "$BIN" keys create --data-dir "$WORK/sqlite"; done | paste -sd,)
PG_KEY=$(for _ in $(seq 1 "$KEYS"); do "$BIN" keys create --database "$DB"; done | paste -sd,)
wait_for "http://127.0.0.1:$SQLITE_PORT/health/ready"
for port in $PG_PORTS; do wait_for "http://127.0.0.1:$port/health/ready"; done

load() {  # name key targets
  BENCH_KEY=$2 BENCH_TARGETS=$3 wrk -t3 -c"$CONNECTIONS" -d"$DURATION" --timeout 10s -s "$ROOT/bench/replicas/spread.lua" \
    "http://${3%% *}/v1/chat/completions" | grep '^RESULT' | sed "s/^RESULT/$1/"
}
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
PG_TARGETS=$(for port in $PG_PORTS; do printf '127.0.0.1:%s ' "$port"; done)
DURATION=3s load warm "$SQLITE_KEY" "127.0.0.1:$SQLITE_PORT" >/dev/null
DURATION=3s load warm "$PG_KEY" "$PG_TARGETS" >/dev/null

echo "== sustained rate: wrk, 3 threads, $CONNECTIONS connections, $KEYS keys in turn, $DURATION per round, rounds interleaved"
printf '%-22s %12s %10s %10s %8s\n' target "requests/s" "p50 ms" "p99 ms" errors
for round in $(seq 1 "$ROUNDS"); do
  for target in sqlite postgres; do
    if [ $target = sqlite ]; then line=$(load "1-sqlite-replica" "$SQLITE_KEY" "127.0.0.1:$SQLITE_PORT")
    else line=$(load "3-postgres-replicas" "$PG_KEY" "$PG_TARGETS"); fi
    echo "$line" >> "$WORK/$target.results"
    printf '%-22s %12s %10.2f %10.2f %8s\n' "${line%% *}" "$(field "$line" rps)" \
      "$(echo "$(field "$line" p50) / 1000" | bc -l)" "$(echo "$(field "$line" p99) / 1000" | bc -l)" "$(field "$line" errors)"
  done
done
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
SQLITE_MEDIAN=$(while read -r line; do field "$line" rps; done < "$WORK/sqlite.results" | median)
PG_MEDIAN=$(while read -r line; do field "$line" rps; done < "$WORK/postgres.results" | median)
echo "median requests/s: 1 SQLite replica $SQLITE_MEDIAN, 3 PostgreSQL replicas $PG_MEDIAN;" \
  "ratio $(echo "$PG_MEDIAN / $SQLITE_MEDIAN" | bc -l | xargs printf '%.2f') (goal >= 0.5)"

# The database's own ceiling for the admission call on these cores: pgbench calling it with
# prepared statements from 16 clients over the same 64 keys, nothing else running.
for pid in "${PIDS[@]}"; do kill -STOP "$pid"; done
cat > "$WORK/admit.sql" <<SQL
\\set k random(1, $KEYS)
SELECT * FROM visioncraft_admit(:k + $KEYS, 'chat', extract(epoch from clock_timestamp()), 0, 0, 0, 0, 1000000000, NULL, 100000, NULL, NULL, 'pgbench', 30);
SQL
PGBENCH=$(ls /usr/lib/postgresql/*/bin/pgbench | tail -1)
CEILING=$("$PGBENCH" "$DB" -n -M prepared -c 16 -j 2 -T "${DURATION%s}" -f "$WORK/admit.sql" 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p')
for pid in "${PIDS[@]}"; do kill -CONT "$pid"; done
echo "the admission function alone (pgbench, 16 clients, prepared): $CEILING calls/s;" \
  "3 replicas reach $(echo "$PG_MEDIAN / $CEILING" | bc -l | xargs printf '%.2f') of it"

echo
echo "== burst: 1,000 concurrent requests over the 3 PostgreSQL replicas, 20 keys at 5 a minute, 20 at 7 a day"
: > "$WORK/keys"
for _ in $(seq 1 20); do echo "5-per-minute $("$BIN" keys create --tier tier1 --database "$DB") 5" >> "$WORK/keys"; done
for _ in $(seq 1 20); do echo "7-per-day $("$BIN" keys create --tier tier2 --database "$DB") 7" >> "$WORK/keys"; done
python3 "$ROOT/bench/replicas/burst.py" "$WORK/keys" $(for port in $PG_PORTS; do printf 'http://127.0.0.1:%s ' "$port"; done)
