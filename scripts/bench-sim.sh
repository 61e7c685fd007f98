#!/usr/bin/env bash
# Throughput of atb-mock-exchange: limit=1000 klines pages over loopback with keep-alive
# Beast clients (bench/sim_server_bench.cpp), plus the generation and rendering steps.
# Reports responses_per_s (end to end) and server_cpu_us / server_capacity_per_s (CPU time
# of the server's io thread per response: meaningful even on a busy machine).
# Usage: scripts/bench-sim.sh [extra google-benchmark flags]
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir=${ATB_BUILD_DIR:-build/release}
[[ -d $build_dir ]] || cmake --preset release -B "$build_dir" >/dev/null
cmake --build "$build_dir" -j 2 --target sim_server_bench >/dev/null
exec "$build_dir/bench/sim_server_bench" --benchmark_filter=BM_Sim --benchmark_min_time=2 "$@"
