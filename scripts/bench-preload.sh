#!/usr/bin/env bash
# Scripted downloader runs against atb-mock-exchange (figures in docs/DOWNLOADER.md).
#
#   scripts/bench-preload.sh [--build DIR] [ceiling-scaled|ceiling|throughput|rss|all]
#
#   ceiling-scaled  --weight-limit 100 --window-ms 1000 --latency-ms 50 (Binance's rate, 1 s windows)
#   ceiling         --weight-limit 6000 --window-ms 60000 --latency-ms 50 (Binance's real limits; ~4 min)
#   throughput      no limit (a huge --weight-limit), no latency: candles/s fetched, parsed and stored
#   rss             10 symbols × 1m × 10 years with /usr/bin/time -v (peak RSS), no limit
#
# Each run uses a fresh cache under ${TMPDIR:-/tmp} and prints the downloader's --json summary
# and the simulator's /__stats. Nothing here needs the internet.
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
if [[ "${1:-}" == "--build" ]]; then build=$2; shift 2; fi
what=${1:-all}
bin=$build/src/cli
for b in atb atb-mock-exchange; do
  [[ -x $bin/$b ]] || { echo "bench-preload: $bin/$b is missing; build it: cmake --build $build --target atb atb-mock-exchange" >&2; exit 2; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/atb-bench.XXXXXX")
sim_pid=
cleanup() { [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

start_sim() {  # args: simulator flags
  "$bin/atb-mock-exchange" --port 0 --now 2026-11-25T12:00:00Z --seed 42 "$@" >"$work/sim.out" 2>"$work/sim.err" &
  sim_pid=$!
  for _ in $(seq 100); do grep -q '^listening ' "$work/sim.out" 2>/dev/null && break; sleep 0.05; done
  port=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$work/sim.out")
  [[ -n $port ]] || { echo "bench-preload: the simulator did not start" >&2; cat "$work/sim.err" >&2; exit 2; }
}
stop_sim() { kill "$sim_pid" 2>/dev/null || true; wait "$sim_pid" 2>/dev/null || true; sim_pid=; }
stats() { curl -s "http://127.0.0.1:$port/__stats" || true; echo; }

run() {  # name, sim flags…, --, atb flags…
  local name=$1; shift
  local sim_args=() atb_args=()
  while [[ $1 != -- ]]; do sim_args+=("$1"); shift; done; shift
  atb_args=("$@")
  start_sim "${sim_args[@]}"
  rm -rf "$work/cache"
  echo "== $name"
  echo "   atb-mock-exchange --port 0 --now 2026-11-25T12:00:00Z --seed 42 ${sim_args[*]}"
  echo "   atb data preload-offline --base-url http://127.0.0.1:PORT --cache-dir CACHE --json ${atb_args[*]}"
  local t=()
  [[ $name == rss* && -x /usr/bin/time ]] && t=(/usr/bin/time -v -o "$work/time.txt")
  "${t[@]}" "$bin/atb" data preload-offline --base-url "http://127.0.0.1:$port" --cache-dir "$work/cache" --json "${atb_args[@]}" \
    >"$work/summary.json" 2>"$work/log.txt" || { echo "   atb failed:"; tail -5 "$work/log.txt"; }
  echo "   summary: $(cat "$work/summary.json")"
  echo "   server : $(stats)"
  if [[ -f $work/time.txt ]]; then
    echo "   $(grep -E 'Maximum resident set size' "$work/time.txt")"
    echo "   $(grep -E 'Elapsed \(wall clock\)' "$work/time.txt")"
    rm -f "$work/time.txt"
  fi
  /usr/bin/python3 - "$work/summary.json" <<'PY' || true
import json, sys
s = json.load(open(sys.argv[1]))
ceiling = s.get("budget_per_s", 0)
print(f"   => {s['candles']:,} candles in {s['seconds']:.2f} s = {s['candles_per_s']:,.0f} candles/s; "
      f"weight {s['weight_per_s']:.1f}/s of {ceiling:.1f}/s budget = {100*s['weight_per_s']/ceiling if ceiling else 0:.1f}% (whole run); "
      f"sustained at the ceiling {s['sustained_weight_per_s']:.2f}/s = {100*s['sustained_weight_per_s']/ceiling if ceiling else 0:.1f}% of the budget; "
      f"429s {s['status_429']}, 418s {s['status_418']}")
PY
  stop_sim
}

syms="BTCUSDT ETHUSDT BNBUSDT ADAUSDT SOLUSDT XRPUSDT DOTUSDT LINKUSDT LTCUSDT AVAXUSDT"
case $what in
  ceiling-scaled|all)
    run ceiling-scaled --weight-limit 100 --window-ms 1000 --latency-ms 50 -- --symbols $syms --timeframes 1h 4h 1d --years-back 10
    ;;&
  ceiling)
    run ceiling --weight-limit 6000 --window-ms 60000 --latency-ms 50 -- --symbols $syms --timeframes 5m --years-back 10 --concurrency 16
    ;;&
  throughput|all)
    run throughput --weight-limit 100000000 --window-ms 60000 --latency-ms 0 --threads 2 -- --symbols $syms --timeframes 1h 4h 1d --years-back 10 --concurrency 8
    run throughput-zstd1 --weight-limit 100000000 --window-ms 60000 --latency-ms 0 --threads 2 -- --symbols $syms --timeframes 1h 4h 1d --years-back 10 --concurrency 8 --zstd-level 1
    run throughput-1m --weight-limit 100000000 --window-ms 60000 --latency-ms 0 --threads 2 -- --symbols BTCUSDT ETHUSDT --timeframes 1m --years-back 2 --concurrency 8
    ;;&
  rss|all)
    run rss-1m --weight-limit 100000000 --window-ms 60000 --latency-ms 0 --threads 2 -- --symbols $syms --timeframes 1m --years-back 10 --concurrency 8
    ;;
esac
