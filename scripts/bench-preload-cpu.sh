#!/usr/bin/env bash
# CPU cost of a throughput preload, atb and simulator together (figures in docs/DOWNLOADER.md):
# user + sys seconds of atb (/usr/bin/time) and of atb-mock-exchange (/proc/PID/stat), per
# candle, and the two-core bound that implies. Less sensitive than wall time to other load.
#   scripts/bench-preload-cpu.sh [--build DIR] [extra preload-offline flags…]
set -euo pipefail
cd "$(dirname "$0")/.."
build=build/release
if [[ ${1:-} == --build ]]; then build=$2; shift 2; fi
bin=$build/src/cli
[[ -x $bin/atb && -x $bin/atb-mock-exchange ]] || { echo "bench-preload-cpu: build first (cmake --preset release && cmake --build --preset release)" >&2; exit 2; }
[[ -x /usr/bin/time ]] || { echo "bench-preload-cpu: needs /usr/bin/time (apt-get install time)" >&2; exit 2; }
work=$(mktemp -d "${TMPDIR:-/tmp}/atb-cpu.XXXXXX")
sim_pid=
cleanup() { [[ -n $sim_pid ]] && kill "$sim_pid" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
"$bin/atb-mock-exchange" --port 0 --now 2026-11-25T12:00:00Z --seed 42 --weight-limit 100000000 --window-ms 60000 \
  --latency-ms 0 --threads 2 > "$work/sim.out" 2>&1 &
sim_pid=$!
for _ in $(seq 100); do grep -q '^listening ' "$work/sim.out" 2>/dev/null && break; sleep 0.05; done
port=$(sed -n 's/^listening 127.0.0.1:\([0-9]*\)$/\1/p' "$work/sim.out")
/usr/bin/time -f "%U %S %e" -o "$work/time.txt" "$bin/atb" data preload-offline --base-url "http://127.0.0.1:$port" \
  --cache-dir "$work/cache" --json --symbols BTCUSDT ETHUSDT BNBUSDT ADAUSDT SOLUSDT XRPUSDT DOTUSDT LINKUSDT LTCUSDT AVAXUSDT \
  --timeframes 1h 4h 1d --years-back 10 --concurrency 8 "$@" > "$work/summary.json" 2>/dev/null
read -r stat < "/proc/$sim_pid/stat"
python3 - "$work/time.txt" "$work/summary.json" "$(getconf CLK_TCK)" "$stat" <<'PY'
import json, sys
u, s, e = map(float, open(sys.argv[1]).read().split()[-3:])
c = json.load(open(sys.argv[2]))["candles"]
tck = float(sys.argv[3])
f = sys.argv[4].rsplit(")", 1)[1].split()   # fields after the command name
su, ss = int(f[11]) / tck, int(f[12]) / tck  # utime, stime
tot = u + s + su + ss
print(f"{c:,} candles, wall {e:.2f} s; atb {u:.2f} user + {s:.2f} sys, simulator {su:.2f} + {ss:.2f} s; "
      f"{tot / c * 1e6:.2f} us CPU per candle -> two-core bound {2 * c / tot:,.0f} candles/s")
PY
