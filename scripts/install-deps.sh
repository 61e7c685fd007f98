#!/usr/bin/env bash
# Installs every build and test dependency of atb from Debian 12's own packages.
# Idempotent: packages already present are left alone; safe to run on every CI run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev          # Asio/Beast with as_tuple and system::result (1.74 lacks them)
  libssl-dev                # TLS for the downloader and the simulator
  libsimdjson-dev           # klines bodies parsed straight into fixed-point columns
  libzstd-dev zstd          # per-column compression in year files
  libxxhash-dev             # XXH3-64 checksums
  capnproto libcapnp-dev    # column layout of year files
  libbenchmark-dev          # bench/
  libgtest-dev googletest   # tests/
  libcli11-dev              # command-line parsing
  libfmt-dev                # fast, type-safe formatting of tables and CSV
  clang-14 libclang-rt-14-dev   # fuzz preset (libFuzzer) and clang sanitizers
  openssl curl              # tests make a throw-away CA; curl probes the simulator
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "install-deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi
