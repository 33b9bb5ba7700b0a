#!/usr/bin/env bash
# The experiment suite: every comparison of the method on the real fleet (processes over ZeroMQ),
# each variant over three seeds, then results/experiments/<name>/REPORT.md with its tables and SVGs.
#   launch/experiments.sh [--quick] [--only NAME]
#     --quick      the tiny generated model (launch/scenarios/tiny.toml): minutes, a smoke test
#     --only NAME  one experiment (today: rounds)
# A finished run (its summary.json exists) is skipped, so the suite resumes where it stopped.
# Experiments:
#   rounds   training loss and held-out perplexity against rounds: ideal FL, AirFL-LoRA (planned rank,
#            manifold beamforming), fixed ranks, the eigen/weakest/random beamformers, one stream,
#            digital OFDMA.
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 only=""
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=${2:?--only needs a NAME}; shift ;;
    *) echo "usage: launch/experiments.sh [--quick] [--only NAME]" >&2; exit 2 ;;
  esac
  shift
done
if ((quick)); then scenario=launch/scenarios/tiny.toml; root=results/experiments-quick; else scenario=launch/scenarios/default.toml; root=results/experiments; fi
root=${AIRFL_EXPERIMENTS_DIR:-$root}
seeds=(1 2 3)
# AIRFL_BIN_DIR: use the executables there as they are (the test suite's); else set up and build.
if [[ -n ${AIRFL_BIN_DIR:-} ]]; then bin=$AIRFL_BIN_DIR; else
  build=${AIRFL_BUILD:-release}
  launch/setup.sh "$build" >&2
  bin=.build/$build
  export AIRFL_BIN_DIR=$bin
fi

# name | what it is | serve options
rounds_variants() {
  cat <<'V'
ideal|FL with ideal (error-free) aggregation, the planned rank|--aggregation ideal --set federation.rank_planning=true
airfl-lora|AirFL-LoRA: planned rank, manifold receive beamforming|--set federation.rank_planning=true --set federation.beamforming="manifold"
rank-2|AirComp, fixed rank 2, manifold|--set federation.rank_planning=false --set federation.rank=2
rank-4|AirComp, fixed rank 4, manifold|--set federation.rank_planning=false --set federation.rank=4
rank-8|AirComp, fixed rank 8, manifold|--set federation.rank_planning=false --set federation.rank=8
eigen|AirComp, planned rank, eigen beamforming|--set federation.rank_planning=true --set federation.beamforming="eigen"
weakest|AirComp, planned rank, weakest-device beamforming|--set federation.rank_planning=true --set federation.beamforming="weakest"
random|AirComp, planned rank, random orthonormal beamforming|--set federation.rank_planning=true --set federation.beamforming="random"
single-stream|AirComp with L = 1, planned rank, manifold|--set federation.rank_planning=true --set aircomp.streams=1
digital|digital OFDMA, 8 bits per real, its own airtime|--aggregation digital --set federation.rank_planning=true
digital-same-airtime|digital OFDMA in AirComp's airtime per round: each node quantises to the bits its rate fits|--aggregation digital --set federation.rank_planning=true --set federation.digital_same_airtime=true
V
}

run_experiment() {
  local name=$1 dir=$root/$1
  mkdir -p "$dir"
  "${name}_variants" > "$dir/variants.txt"
  mapfile -t variants < "$dir/variants.txt"
  local n=$(( ${#variants[@]} * ${#seeds[@]} )) i=0 spent=0 done_runs=0
  for line in "${variants[@]}"; do
    IFS='|' read -r variant _ options <<<"$line"
    for seed in "${seeds[@]}"; do
      i=$((i + 1))
      local out=$dir/$variant-seed$seed
      if [[ -f $out/summary.json ]]; then echo "experiments: $name run $i/$n ($variant, seed $seed) done before; skipped" >&2; continue; fi
      local eta="-"
      ((done_runs)) && eta="$(( spent / done_runs * (n - i + 1) )) s"
      echo "experiments: $name run $i/$n: $variant, seed $seed (ETA $eta)" >&2
      rm -rf "$out"
      local start=$(date +%s)
      # shellcheck disable=SC2086  # the options are words
      FLEET_RUN_DIR=$out launch/fleet.sh "$scenario" --seed "$seed" $options > /dev/null
      spent=$(( spent + $(date +%s) - start )); done_runs=$((done_runs + 1))
    done
  done
  "$bin/basestation" report --experiment "$dir" --scenario "$scenario" --seeds "$(IFS=,; echo "${seeds[*]}")"
  echo "experiments: $dir/REPORT.md" >&2
}

for e in rounds; do
  [[ -z $only || $only == "$e" ]] || continue
  run_experiment "$e"
done
[[ -z $only || $only == rounds ]] || { echo "experiments: no experiment named $only (known: rounds)" >&2; exit 2; }
