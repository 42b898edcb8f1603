#!/usr/bin/env bash
# Every load-test figure in docs/benchmarks.md, against a database `stockmind seed` filled:
#   loadtest/bench-seeded.sh <database> <namespace> <label> [full|quick|query]
# Starts `stockmind core`, `stockmind relay` and `stockmind project availability` as three
# processes on free ports, runs the scenarios with our runner, writes the JSON files to
# loadtest/results/<label>/ and a markdown summary to loadtest/results/<label>/summary.md.
set -euo pipefail
cd "$(dirname "$0")/.."
DB=$1 NS=$2 LABEL=$3 MODE=${4:-full}
OUT=loadtest/results/$LABEL
mkdir -p "$OUT"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB" ANALYTICS_DATABASE_URL="postgres://postgres@127.0.0.1:5432/${DB}_analytics"
export STOCKMIND_NAMESPACE=$NS NODE_ENV=${NODE_ENV:-test} LOG_LEVEL=warn
free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }
PORT=$(free_port)
GPORT=$(free_port)
# The Connect port (connect-node) and the same handlers on grpc-js (CORE_GRPC_PORT).
export CORE_PORT=$PORT CORE_GRPC_PORT=$GPORT
SECS=${SECS:-8}

pids=()
stop_all() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap stop_all EXIT
start_core() { # start_core [node flags...]
  node "$@" bin/stockmind.mjs core > "$OUT/core.log" 2>&1 &
  CORE_PID=$!; pids+=("$CORE_PID")
  for _ in $(seq 1 100); do grep -q "core listening" "$OUT/core.log" && return 0; sleep 0.2; done
  echo "core did not start"; cat "$OUT/core.log"; exit 1
}
start_core
node bin/stockmind.mjs relay > "$OUT/relay.log" 2>&1 & pids+=($!)
node bin/stockmind.mjs project availability > "$OUT/availability.log" 2>&1 & pids+=($!)
sleep 2
# The config file first, then the default host: a later --host in the arguments wins.
run() { node bin/stockmind.mjs loadtest "$1" --host "127.0.0.1:$PORT" -q "${@:2}" > /dev/null; }
lt() { echo "== $*" >&2; }

# MODE: full (everything), quick (fewer steps, no profile), query (the QueryStock steps only).
if [ "$MODE" = quick ]; then RATES=${RATES:-100 200}; else RATES=${RATES:-50 100 200 300 500 800 1200}; fi
for server in connect:$PORT grpcjs:$GPORT; do
  name=${server%%:*} port=${server##*:}
  lt "QueryStock on $name, closed loop (the same-run ceiling)"
  run loadtest/ghz/query-stock.json --host "127.0.0.1:$port" --duration "${SECS}s" -c 16 --connections 4 -o "$OUT/q-$name-closed-c16.json"
  for r in $RATES; do
    lt "QueryStock on $name, open loop at $r/s"
    run loadtest/ghz/query-stock.json --host "127.0.0.1:$port" --duration "${SECS}s" --rps "$r" -c 64 --connections 4 -o "$OUT/q-$name-rps-$(printf %05d "$r").json" || true
  done
done
if [ "$MODE" = query ]; then npx tsx loadtest/runner/summarize.ts "$OUT"/q-*.json > "$OUT/summary-query.md"; cat "$OUT/summary-query.md"; exit 0; fi
lt "ReserveStock distinct SKUs, closed loop, with the pgbench baseline"
run loadtest/ghz/reserve-distinct.json --duration "${SECS}s" -c 8 --connections 4 --pgbench -o "$OUT/r-distinct-c8.json"
lt "ReserveStock hot SKU: 1,200 calls for the 1,000 seeded units of HOT-1"
run loadtest/ghz/reserve-hot.json --total 1200 -c 16 --connections 4 -o "$OUT/r-hot-c16.json"
TOKEN=$(node bin/stockmind.mjs token --tenant load-1 --roles admin 2>/dev/null | tail -1)
npx buf curl --schema proto --protocol grpc --http2-prior-knowledge -H "authorization: Bearer $TOKEN" \
  -d '{"keys":[{"sku":"HOT-1","location_id":"W1"}],"consistency":"CONSISTENCY_STRONG"}' \
  "http://127.0.0.1:$PORT/stockmind.inventory.v1.InventoryService/QueryStock" > "$OUT/hot-after.txt"
lt "commit -> Redis lag: mixed channels alone, then under QueryStock load"
run loadtest/ghz/mixed-channels.json --duration "$((SECS + 2))s" --rps 100 -c 16 --connections 2 --lag -o "$OUT/lag-mixed-alone.json"
run loadtest/ghz/query-stock.json --duration "$((SECS + 4))s" --rps "${LAG_QUERY_RPS:-1000}" -c 64 --connections 4 -o "$OUT/lag-query-load.json" &
QPID=$!
sleep 1
run loadtest/ghz/mixed-channels.json --duration "$((SECS + 2))s" --rps 100 -c 16 --connections 2 --lag -o "$OUT/lag-mixed-under-query.json"
wait "$QPID" || true
{
  echo "core RSS KiB: $(ps -o rss= -p "$CORE_PID")"
  psql -h 127.0.0.1 -U postgres -d "$DB" -Atc "select 'postgres database: ' || pg_size_pretty(pg_database_size(current_database())) || ', streams ' || (select count(*) from streams) || ', events ' || (select count(*) from events)"
  echo "redis keys in namespace (sampled memory): $(redis-cli --scan --pattern "$NS:avail:*" | head -200 | xargs -n1 redis-cli memory usage | awk '{s+=$1} END {printf "%.0f B/key avg over %d keys", s/NR, NR}')"
  echo "hot SKU after: $(tr -d '\n ' < "$OUT/hot-after.txt")"
} > "$OUT/memory.txt"
if [ "$MODE" != quick ]; then
  lt "CPU profile of the core under QueryStock and ReserveStock load"
  kill "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true
  rm -rf "$OUT/prof"; start_core --cpu-prof "--cpu-prof-dir=$OUT/prof"
  run loadtest/ghz/query-stock.json --duration "${SECS}s" -c 16 --connections 4 -o "$OUT/prof-query.json"
  kill "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true
  npx tsx loadtest/bench/profileShare.ts "$(ls "$OUT"/prof/*.cpuprofile | head -1)" > "$OUT/profile-query.md"
  rm -rf "$OUT/prof"; start_core --cpu-prof "--cpu-prof-dir=$OUT/prof"
  run loadtest/ghz/reserve-distinct.json --duration "${SECS}s" -c 8 --connections 4 -o "$OUT/prof-reserve.json"
  kill "$CORE_PID"; wait "$CORE_PID" 2>/dev/null || true
  npx tsx loadtest/bench/profileShare.ts "$(ls "$OUT"/prof/*.cpuprofile | head -1)" > "$OUT/profile-reserve.md"
fi
npx tsx loadtest/runner/summarize.ts "$OUT"/*.json > "$OUT/summary.md"
cat "$OUT/summary.md" "$OUT/memory.txt"
