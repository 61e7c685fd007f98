#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine and runs every test (GoogleTest suites, fuzz-corpus
# replays, end-to-end scripts) under ASan + UBSan. Usage: scripts/test.sh [preset]
# (default asan; `debug` is faster, `release` also runs the suites labelled slow).
set -euo pipefail
cd "$(dirname "$0")/.."
preset=${1:-asan}
bash scripts/install-deps.sh
cmake --preset "$preset"
cmake --build --preset "$preset" -j "$(nproc)"
ctest --preset "$preset"
