#!/usr/bin/env bash
# The whole test suite: setup (packages + build), then every test target.
set -euo pipefail
cd "$(dirname "$0")/.."
launch/setup.sh debug
swift build --build-tests
swift test --skip-build --parallel --num-workers 2 "$@"
