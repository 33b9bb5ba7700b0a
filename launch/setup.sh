#!/usr/bin/env bash
# Idempotent setup: installs the Debian packages that are missing, then builds.
#   launch/setup.sh            debug build (what the tests use)
#   launch/setup.sh release    release build tuned for this CPU (what the demo and benchmarks use)
#   launch/setup.sh packages   the Debian packages only
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(libopenblas-dev liblapacke-dev libzmq3-dev zlib1g-dev libisal-dev pkg-config fortunes fortunes-de)
# What the tests need beyond that (launch/test.sh sets it): e.g. Debian's prometheus for promtool.
read -r -a extra <<<"${AIRFL_EXTRA_PACKAGES:-}"
PACKAGES+=("${extra[@]}")
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  SUDO=""
  [[ $(id -u) -eq 0 ]] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# `packages`: only the above (launch/fuzz.sh builds its own variant and needs no model).
[[ ${1:-} == packages ]] && exit 0

# The default model (docs/architecture.md#the-learning-path): used by the tests that are about it and by the fleet.
launch/fetch-model.sh

mode=${1:-debug}
case "$mode" in
  debug) swift build ;;
  # -target-cpu native lets the compiler vectorise the noise and mapping loops with this CPU's
  # widest instructions (as llama.cpp's GGML_NATIVE does); results are bit-identical either way.
  release) swift build -c release -Xswiftc -target-cpu -Xswiftc native ;;
  *) echo "usage: launch/setup.sh [debug|release]" >&2; exit 2 ;;
esac
