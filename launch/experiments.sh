#!/usr/bin/env bash
# The experiment suite: every comparison of the method on the real fleet (processes over ZeroMQ),
# each variant over two or three seeds, then results/experiments/<name>/REPORT.md with its tables and SVGs.
#   launch/experiments.sh [--quick] [--only NAME]
#     --quick      the tiny generated model (launch/scenarios/tiny.toml): minutes, a smoke test
#     --only NAME  one experiment (and the runs it shares with others)
#     --publish DIR  then gather every finished experiment's report, figures and CSVs into
#                  DIR/REPORT.md, after DIR/findings.md when there is one (docs/experiments holds
#                  the committed full run)
# A finished run (summary.json, and options.txt equal to its options) is skipped, so the suite
# resumes where it stopped; a variant whose options are `=EXPERIMENT/VARIANT` is the same runs as
# that one (a symbolic link), not a new run; `@rank:EXPERIMENT/VARIANT` in a variant's options is
# the rank that run trained at on the same seed (run first), so a baseline differs from the method
# in the one thing its name says and not in its rank.
# Experiments, in the order they run (docs/experiments/REPORT.md is the published full run):
#   radio  aggregation MSE of the beamformers against N_r, many channel draws, no model
# The paper's regime (launch/scenarios/paper.toml: K = 10 over 15–250 m, imperfect CSI, four
# streams, an energy budget per round that binds, so a higher rank lowers every symbol's power;
# 16 rounds, by which held-out loss levels off):
#   paper-baselines  held-out perplexity against rounds: AirFL-LoRA, and at its rank (each seed's)
#              ideal FL, eigen beamforming, truncated channel inversion, minimum-MSE power control,
#              digital OFDMA (8 bits a real, its own airtime; and in AirComp's airtime); 3 seeds
#   paper-rank   the bound G(r) beside the measured loss, ranks 2 to 16, under rsLoRA's scale α/√r
#              and the standard α/r (capacity against step size), ideal FL at the ranks; 2 seeds
#   paper-power  final perplexity against the energy budget (every profile's energy offset, dB):
#              AirFL-LoRA, and AirComp and ideal FL at one fixed rank (the channel's knee), with
#              each point's aggregate SNR; 2 seeds
# The sweeps have two seeds and the baselines three so the suite fits 2.5 h of compute on a 2-core
# machine (the accounting is in BENCHMARKS.md). The default regime's experiments (K = 4 at
# 28–48 dB aggregate SNR with perfect CSI, where no budget binds) were dropped: that regime cannot
# show the trade-off the method is for, and each of its questions has its paper-regime version here.
# Only paper-baselines evaluates the held-out set during training (every 4 rounds); the others
# before training and after the last round (they compare final numbers; every round's training
# loss is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 only="" publish=""
all="radio paper-baselines paper-rank paper-power"
while (($#)); do
  case "$1" in
    --quick) quick=1 ;;
    --only) only=${2:?--only needs a NAME}; shift ;;
    --publish) publish=${2:?--publish needs a DIR}; shift ;;
    *) echo "usage: launch/experiments.sh [--quick] [--only NAME] [--publish DIR]   (NAME: ${all// /, })" >&2; exit 2 ;;
  esac
  shift
done
if [[ -n $only && " $all " != *" $only "* ]]; then echo "experiments: no experiment named $only (known: ${all// /, })" >&2; exit 2; fi
# --quick: the same experiments with fewer seeds and points (a smoke test of every code path).
if ((quick)); then
  root=results/experiments-quick draws=3 seeds=(1 2) sweep_seeds=(1 2) antennas=(4 8)
  radio_scenario=launch/scenarios/tiny.toml
  # The paper regime's code paths on the tiny model: six devices far apart, imperfect CSI, eight
  # categories split Dirichlet(0.5).
  paper_scenario=launch/scenarios/tiny.toml
  paper_set='--set devices=6 --set channel.min_distance_m=15 --set channel.max_distance_m=250 --set channel.csi_nmse=0.01'
  paper_set+=' --set federation.data="fortunes:science,computers,food,literature,art,wisdom,people,work" --set federation.partition="dirichlet"'
  paper_energies=(-25 -45) paper_ranks=(2 8) paper_standard_ranks=(2 8) paper_ideal_ranks=(2 8) paper_fixed=8 paper_eval_every=1
else
  root=results/experiments draws=200 seeds=(1 2 3) sweep_seeds=(1 2) antennas=(4 8 16 32)
  radio_scenario=launch/scenarios/default.toml
  paper_scenario=launch/scenarios/paper.toml paper_set=''
  paper_energies=(-5 -25 -35 -45) paper_ranks=(2 8 16) paper_standard_ranks=(2 16) paper_ideal_ranks=(8 16) paper_fixed=8 paper_eval_every=4
fi
# The paper regime's own energy offset (the scenario's; a point of the energy sweep).
paper_energy=-25
root=${AIRFL_EXPERIMENTS_DIR:-$root}
# AIRFL_BIN_DIR: use the executables there as they are (the test suite's); else set up and build.
if [[ -n ${AIRFL_BIN_DIR:-} ]]; then bin=$AIRFL_BIN_DIR; else
  build=${AIRFL_BUILD:-release}
  launch/setup.sh "$build" >&2
  bin=.build/$build
  export AIRFL_BIN_DIR=$bin
fi

# Work that runs share (the base model's evaluation, training from the fresh adapter) is done once:
# its results are looked up in the memo by everything they depend on, the same bits as computing them.
export FLEET_MEMO=${FLEET_MEMO:-$root/memo}
method='--set federation.rank_planning=true --set federation.beamforming="manifold"'
final_only='--set federation.eval_every=1000'
# Each experiment's variants, one per line: name|what it is|serve options[|series|x]
# (launch/experiments-paper.sh).

# The scenario an experiment's runs use.
scenario_of() { echo "$paper_scenario"; }
# The seeds an experiment runs.
seeds_of() { [[ $1 == paper-baselines ]] && echo "${seeds[@]}" || echo "${sweep_seeds[@]}"; }

# The paper regime's experiments' variants (paper-baselines, paper-power, paper-rank).
# shellcheck source=launch/experiments-paper.sh
source launch/experiments-paper.sh

variant_line() { "${1//-/_}_variants" | awk -F'|' -v v="$2" '$1 == v'; }

# Makes sure EXPERIMENT/VARIANT-seedS is finished (running it, or the run it names).
ensure_run() {
  local exp=$1 variant=$2 seed=$3 label=${4:-} line options out
  line=$(variant_line "$exp" "$variant")
  [[ -n $line ]] || { echo "experiments: $exp has no variant $variant" >&2; exit 2; }
  IFS='|' read -r _ _ options _ <<<"$line"
  out=$root/$exp/$variant-seed$seed
  mkdir -p "$root/$exp"
  # @rank:EXPERIMENT/VARIANT: the rank that run trained at on this seed (finished first).
  local ref_exp ref_variant ref_rank
  while [[ $options =~ @rank:([a-z0-9-]+)/([a-z0-9-]+) ]]; do
    ref_exp=${BASH_REMATCH[1]} ref_variant=${BASH_REMATCH[2]}
    ensure_run "$ref_exp" "$ref_variant" "$seed"
    ref_rank=$(sed -n 's/^  "rank" : \([0-9]*\),*$/\1/p' "$root/$ref_exp/$ref_variant-seed$seed/summary.json")
    [[ -n $ref_rank ]] || { echo "experiments: no rank in $root/$ref_exp/$ref_variant-seed$seed/summary.json" >&2; exit 1; }
    options=${options//@rank:$ref_exp\/$ref_variant/$ref_rank}
  done
  if [[ $options == =* ]]; then
    local ref=${options#=}
    ensure_run "${ref%%/*}" "${ref#*/}" "$seed"
    [[ -z $label ]] || echo "experiments: $exp $label ($variant, seed $seed) is $ref's run" >&2
    [[ -L $out || ! -e $out ]] || rm -rf "$out"
    ln -sfn "../${ref%%/*}/${ref#*/}-seed$seed" "$out"
    return
  fi
  if [[ -f $out/summary.json && ! -L $out ]]; then
    # A run made before options.txt existed is taken as it is.
    [[ -f $out/options.txt ]] || echo "$options" > "$out/options.txt"
    if [[ $(cat "$out/options.txt") == "$options" ]]; then
      [[ -z $label ]] || echo "experiments: $exp $label ($variant, seed $seed) done before; skipped" >&2
      return
    fi
    echo "experiments: $out was made with other options; running it again" >&2
  fi
  rm -rf "$out"
  started=$((started + 1))
  echo "experiments: $exp ${label:-(for another experiment)}: $variant, seed $seed (ETA $(eta))" >&2
  local start; start=$(date +%s)
  # The options are words (split, never globbed: aircomp.power_dbm=[10] is not a pattern).
  set -f
  # shellcheck disable=SC2086
  FLEET_RUN_DIR=$out launch/fleet.sh "$(scenario_of "$exp")" --seed "$seed" $options > /dev/null
  set +f
  echo "$options" > "$out/options.txt"
  spent=$(( spent + $(date +%s) - start )); finished=$((finished + 1))
}
started=0 finished=0 spent=0 pending=0
eta() { ((finished)) && echo "$(( spent / finished * (pending - started + 1) )) s for the $((pending - started + 1)) runs left" || echo "-"; }

# Runs this experiment still needs (for the ETA).
count_pending() {
  local exp=$1 line name options seed exp_seeds
  read -r -a exp_seeds <<<"$(seeds_of "$exp")"
  while IFS= read -r line; do
    IFS='|' read -r name _ options _ <<<"$line"
    [[ $options == =* ]] && continue
    for seed in "${exp_seeds[@]}"; do
      [[ ! -L $root/$exp/$name-seed$seed && -f $root/$exp/$name-seed$seed/summary.json && $(cat "$root/$exp/$name-seed$seed/options.txt" 2>/dev/null || echo "$options") == "$options" ]] || pending=$((pending + 1))
    done
  done < <("${exp//-/_}_variants")
}

run_experiment() {
  local exp=$1 dir=$root/$1 xlabel=() line name exp_seeds
  read -r -a exp_seeds <<<"$(seeds_of "$exp")"
  mkdir -p "$dir"
  "${exp//-/_}_variants" > "$dir/variants.txt"
  pending=$started; count_pending "$exp"
  local i=0 n; n=$(( $(wc -l < "$dir/variants.txt") * ${#exp_seeds[@]} ))
  while IFS= read -r line; do
    name=${line%%|*}
    for seed in "${exp_seeds[@]}"; do
      i=$((i + 1))
      ensure_run "$exp" "$name" "$seed" "run $i/$n"
    done
  done < "$dir/variants.txt"
  case $exp in
    paper-rank) xlabel=(--x-label "LoRA rank r") ;;
    paper-power) xlabel=(--x-label "transmit energy offset (dB)") ;;
  esac
  "$bin/lab" report --experiment "$dir" --scenario "$(scenario_of "$exp")" --seeds "$(IFS=,; echo "${exp_seeds[*]}")" "${xlabel[@]}"
  echo "experiments: $dir/REPORT.md" >&2
}

for e in $all; do
  [[ -z $only || $only == "$e" ]] || continue
  if [[ $e == radio ]]; then
    radio_args="--scenario $radio_scenario --draws $draws --antennas $(IFS=,; echo "${antennas[*]}")"
    if [[ ! -f $root/radio/beam-sweep.csv || $(cat "$root/radio/options.txt" 2>/dev/null) != "$radio_args" ]]; then
      echo "experiments: radio: beamformers against N_r, $draws channel draws" >&2
      # shellcheck disable=SC2086
      "$bin/basestation" beam-sweep $radio_args --out "$root/radio"
      echo "$radio_args" > "$root/radio/options.txt"
    fi
    echo "experiments: $root/radio/REPORT.md" >&2
    continue
  fi
  run_experiment "$e"
done
if [[ -n $publish ]]; then
  # DIR/findings.md, when there is one, is what a reader of the tables wrote: it goes first.
  preface=(); [[ -f $publish/findings.md ]] && preface=(--preface "$publish/findings.md")
  "$bin/lab" publish --experiments "$root" --order "${all// /,}" --out "$publish" "${preface[@]}" \
    --command "launch/experiments.sh$( ((quick)) && echo " --quick")"
  echo "experiments: $publish/REPORT.md" >&2
fi
