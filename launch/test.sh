#!/usr/bin/env bash
# The whole test suite: setup (packages + build), then every test target (XCTest).
set -euo pipefail
cd "$(dirname "$0")/.."
# prometheus: promtool checks the live /metrics exposition (LiveMetricsTests); slurm-wlm and munge:
# the one-node cluster SlurmFleetTests starts (launch/slurm/local-cluster.sh).
AIRFL_EXTRA_PACKAGES="prometheus slurm-wlm munge" launch/setup.sh debug
swift build --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
swift test --skip-build --disable-swift-testing "$@" 2>&1 | tee "$log" || status=$?
# XCTest's own closing line, restated plainly: "N passed, M failed".
summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
if [[ -n $summary ]]; then
  total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
  failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
  echo "tests: $((total - failed)) passed, $failed failed"
fi
exit "$status"
