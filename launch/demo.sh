#!/usr/bin/env bash
# The radio demonstration (README's main command until the fleet lands): draws channels from a
# scenario, sends random updates over the emulated MIMO-OFDM air, prints measured vs predicted MSE.
#   launch/demo.sh [scenario.toml] [extra basestation demo flags]
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh release >&2
scenario=${1:-launch/scenarios/radio-demo.toml}
shift || true
exec .build/release/basestation demo --scenario "$scenario" "$@"
