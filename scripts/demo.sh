#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine, builds atb (release) and runs `atb demo`: the
# simulated exchange on loopback, a full preload, atb-verify, and a backtest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target atb atb-verify atb-mock-exchange
exec build/release/src/cli/atb demo "$@"
