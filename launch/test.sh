#!/usr/bin/env bash
# The whole test suite: setup (packages + build), the code's form (launch/lint.sh), then every test
# target (XCTest), then every fuzz target under libFuzzer for a fixed number of iterations
# (launch/fuzz.sh; AIRFL_FUZZ_RUNS, default 20000).
#   launch/test.sh [--sanitize thread|address] [swift test options, e.g. --filter X]
# --sanitize builds the suite and the executables it spawns with that sanitizer (in .build/sanitize-X)
# and runs it there; options after it (e.g. --filter) go to swift test. With options, no fuzz stage.
set -euo pipefail
cd "$(dirname "$0")/.."
sanitize=()
if [[ ${1:-} == --sanitize ]]; then
  case ${2:-} in thread|address) ;; *) echo "test: --sanitize thread or address" >&2; exit 2 ;; esac
  sanitize=(--sanitize="$2" --build-path ".build/sanitize-$2")
  # The spawned executables inherit these. Swift's own crash backtracer is off so the sanitizer
  # reports a crash itself (the backtracer reads other threads' stacks, which ASan flags); leaks and
  # races inside dependencies, each named with why, are in Tests/Sanitizers/; AIRFL_SANITIZER lets a
  # test say which of its bounds a sanitizer's overhead voids (peak RSS under ASan).
  export AIRFL_SANITIZER=$2 SWIFT_BACKTRACE=enable=no
  export ASAN_OPTIONS=${ASAN_OPTIONS:-handle_sigill=1:detect_stack_use_after_return=0}
  export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/Tests/Sanitizers/lsan.supp:print_suppressions=0}
  export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$PWD/Tests/Sanitizers/tsan.supp:handle_sigill=1:halt_on_error=0}
  shift 2
fi
# prometheus: promtool checks the live /metrics exposition (LiveMetricsTests); slurm-wlm and munge:
# the one-node cluster SlurmFleetTests starts (launch/slurm/local-cluster.sh); iproute2: the test hosts
# (launch/hosts.sh) of NetworkHostsTests and FaultyBackhaulTests.
AIRFL_EXTRA_PACKAGES="prometheus slurm-wlm munge iproute2" launch/setup.sh debug
status=0
# The code's form first (seconds): a finding fails the suite, and the tests still run.
lint_status=0
launch/lint.sh || lint_status=1
swift build --build-tests "${sanitize[@]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
swift test --skip-build --disable-swift-testing "${sanitize[@]}" "$@" 2>&1 | tee "$log" || status=$?
# XCTest's own closing line restated plainly ("N passed, M failed"), with every failed test and its
# failure messages; printed again at the very end so the last lines of a CI log say what failed.
report_tests() {
  local summary total failed
  summary=$(grep -E "Executed [0-9]+ tests?, with [0-9]+ failures?" "$log" | tail -n 1 || true)
  if [[ -z $summary ]]; then
    echo "tests: no XCTest summary (swift test exit $status): the runner crashed or was killed; last lines:"
    grep -v "^\[" "$log" | tail -n 20
    return
  fi
  total=$(sed -E 's/.*Executed ([0-9]+) tests?.*/\1/' <<<"$summary")
  failed=$(sed -E 's/.*with ([0-9]+) failures?.*/\1/' <<<"$summary")
  echo "tests: $((total - failed)) passed, $failed failed"
  grep -E "^Test Case .* failed|: error: " "$log" | head -n 40 || true
}
report_tests
if [[ $# -eq 0 && ${#sanitize[@]} -eq 0 ]]; then
  launch/fuzz.sh all --runs "${AIRFL_FUZZ_RUNS:-20000}" || status=1
  [[ $status -eq 0 ]] || report_tests
fi
if [[ $lint_status -ne 0 ]]; then
  echo "lint: failed (launch/lint.sh; swift format format -i -r -p Sources Tests Package.swift fixes most)"
  status=1
fi
exit "$status"
