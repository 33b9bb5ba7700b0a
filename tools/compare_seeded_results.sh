#!/usr/bin/env bash
# Every seeded result stays the same bits across a refactor: builds REF (a commit, tag or branch)
# in a temporary worktree, runs the tiny fleet (launch/scenarios/tiny.toml, the generated model) with
# its executables and with this checkout's, in every aggregation (aircomp, ideal, digital at fixed
# bits and in AirComp's airtime) and with the rank planned from a pilot round, and compares the final adapter byte for byte and metrics.csv cell
# for cell, wall time aside. Exit 0 when all are equal, 1 naming what differs.
#   tools/compare_seeded_results.sh REF
# Both builds run on this machine: OpenBLAS chooses its kernels by CPU, so bits are compared
# between builds on one machine, not against values recorded on another.
set -euo pipefail
cd "$(dirname "$0")/.."
ref=${1:?usage: tools/compare_seeded_results.sh REF}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/before" 2>/dev/null || true; rm -rf "$work"' EXIT
git worktree add --detach "$work/before" "$ref" > /dev/null
build() { (cd "$1" && swift build -c release -Xswiftc -target-cpu -Xswiftc native > "$work/build-$2.log" 2>&1) || { echo "compare: the $2 build failed ($work/build-$2.log)" >&2; exit 2; }; }
echo "compare: building $ref and this checkout" >&2
build "$work/before" before
build . after
status=0
for case in "aircomp" "ideal" "digital" "digital --set federation.digital_same_airtime=true" \
  "aircomp --set federation.rank_planning=true"; do
  read -r -a args <<< "--aggregation $case"
  name=${case// /_}
  same=1
  for side in before after; do
    bin=$([[ $side == before ]] && echo "$work/before/.build/release" || echo ".build/release")
    FLEET_RUN_DIR="$work/$side-$name" AIRFL_BIN_DIR=$bin launch/fleet.sh launch/scenarios/tiny.toml "${args[@]}" --insecure \
      > "$work/$side-$name.log" 2>&1 || { echo "compare: the $side fleet ($case) failed: $work/$side-$name.log" >&2; exit 2; }
  done
  if ! cmp -s "$work/before-$name/adapter.gguf" "$work/after-$name/adapter.gguf"; then
    echo "compare: $case: the final adapters differ" >&2; same=0; status=1
  fi
  if ! python3 - "$work/before-$name/metrics.csv" "$work/after-$name/metrics.csv" <<'EOF'
import csv, sys
a, b = (list(csv.DictReader(open(p))) for p in sys.argv[1:3])
differ = sorted({k for x, y in zip(a, b) for k in x if k != "wall_s" and x[k] != y.get(k)})
if len(a) != len(b) or differ:
    print(f"  metrics.csv: {len(a)} against {len(b)} rows; columns that differ: {differ}", file=sys.stderr)
    sys.exit(1)
EOF
  then echo "compare: $case: metrics.csv differs" >&2; same=0; status=1; fi
  if ((same)); then echo "compare: $case: the same bits" >&2; fi
done
exit $status
