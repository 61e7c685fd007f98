#!/usr/bin/env bash
# Engine benchmarks (bench/engine_backtest_bench.cpp) as docs/BACKTEST.md#speed reports them:
# ROUNDS interleaved rounds of one repetition each, then per benchmark the best and the
# median time and items/s (bars/s, bar×combination/s for the sweep). On a shared VM single
# runs vary by up to 1.7×; the best shows what the code does, the median what to expect.
# Where a benchmark reports core_ghz (the speed the core ran at in the same seconds, from
# a chain of dependent adds), also its range, the median rate per probe GHz and the rates
# of the runs at full speed (core_ghz within 85 % of the highest seen).
# --gap S sleeps S seconds between rounds, to sample more of the host's phases.
#   scripts/bench-engine.sh [--build DIR] [--rounds N] [--gap S] [FILTER]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release rounds=7 gap=0
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --gap) gap=$2; shift 2 ;;
    *) break ;;
  esac
done
filter=${1:-'SmaCrossBacktest|SmaSweep$|ColdStart'}
bin=$build/bench/engine_backtest_bench
[[ -x $bin ]] || { echo "bench-engine: $bin is missing; build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
for r in $(seq "$rounds"); do
  "$bin" --benchmark_filter="$filter" --benchmark_format=json 2>/dev/null
  if [[ $r -lt $rounds ]]; then sleep "$gap"; fi
done | python3 -c '
import json, statistics, sys
dec = json.JSONDecoder(); text = sys.stdin.read(); pos = 0; runs = {}
while pos < len(text):
    while pos < len(text) and text[pos].isspace(): pos += 1
    if pos >= len(text): break
    d, pos = dec.raw_decode(text, pos)
    for b in d["benchmarks"]:
        runs.setdefault(b["name"], []).append((b["real_time"], b.get("items_per_second", 0.0), b["time_unit"], b.get("core_ghz", 0.0)))
for name, v in runs.items():
    t = sorted(x[0] for x in v); ips = sorted(x[1] for x in v)
    print(f"{name:58s} best {t[0]:9.3f} {v[0][2]}  median {statistics.median(t):9.3f} {v[0][2]}   "
          f"items/s best {ips[-1]/1e6:8.1f}M  median {statistics.median(ips)/1e6:8.1f}M  ({len(v)} runs)")
    g = [x for x in v if x[3] > 0]
    if g:  # the core speed probe (bench/engine_backtest_bench.cpp: core_probe)
        per = statistics.median(x[1] / x[3] for x in g)
        top = max(x[3] for x in g); full = sorted(x[1] for x in g if x[3] >= 0.85 * top)
        print(" " * 59 + f"core_ghz {min(x[3] for x in g):.2f}-{top:.2f}, median {per/1e6:.1f}M items/s per probe GHz; "
              f"at full speed (core_ghz >= {0.85 * top:.2f}): {len(full)} runs, items/s {full[0]/1e6:.1f}M-{full[-1]/1e6:.1f}M")
'
