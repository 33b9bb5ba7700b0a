#!/usr/bin/env bash
# The experiment suite: every comparison of the method on the real fleet (processes over ZeroMQ),
# each variant over three seeds, then results/experiments/<name>/REPORT.md with its tables and SVGs.
#   launch/experiments.sh [--quick] [--only NAME]
#     --quick      the tiny generated model (launch/scenarios/tiny.toml): minutes, a smoke test
#     --only NAME  one experiment (and the runs it shares with others)
#     --publish DIR  then gather every finished experiment's report, figures and CSVs into
#                  DIR/REPORT.md (docs/experiments holds the committed full run)
# A finished run (summary.json, and options.txt equal to its options) is skipped, so the suite
# resumes where it stopped; a variant whose options are `=EXPERIMENT/VARIANT` is the same runs as
# that one (a symbolic link), not a new run; `@rank:EXPERIMENT/VARIANT` in a variant's options is
# the rank that run trained at on the same seed (run first), so a baseline differs from the method
# in the one thing its name says and not in its rank.
# Experiments, in the order they run:
#   rounds     training loss and held-out perplexity against rounds: ideal FL, AirFL-LoRA (planned
#              rank, manifold beamforming), ideal FL at AirFL-LoRA's rank, fixed ranks under the
#              rsLoRA scaling and under the old constant one, and at AirFL-LoRA's rank (each seed's)
#              the eigen/weakest/random beamformers, truncated channel inversion, minimum-MSE power
#              control, one stream, digital OFDMA (8 bits a real, its own airtime; and in AirComp's
#              airtime, compressed without bias)
#   power      final perplexity against transmit power (every profile's power offset, dB): AirFL-LoRA
#              and ideal FL, and AirComp and ideal FL at one fixed rank; its knee (the highest power
#              where fixed-rank AirComp is ≥ 1 % worse than ideal FL at that rank, else the lowest:
#              the channel's knee, not the planner's) is the lower power budget the next experiments use
#   low-power  the comparisons of `rounds` at the knee
#   rank       the optimality-gap bound G(r) beside the measured final loss per rank, at the
#              default power and at the knee (no runs of its own)
#   german     the second task: language adaptation to German fortunes (Debian's fortunes-de):
#              ideal FL, AirFL-LoRA, digital OFDMA in AirComp's airtime
#   radio      aggregation MSE of the beamformers against N_r, many channel draws, no model
#   antennas   final perplexity against BS antennas N_r at the knee
#   devices    final perplexity against the number of devices K at the knee (8 fortune
#              categories split Dirichlet(0.5) over K, so every K sees the same data)
# The paper's regime (launch/scenarios/paper.toml: K = 10 over 15–250 m, imperfect CSI, four
# streams, an energy budget per round that binds, so a higher rank lowers every symbol's power):
#   paper-baselines  held-out perplexity against rounds until it levels off: AirFL-LoRA, ideal FL at
#              its own and at AirFL-LoRA's rank, and at AirFL-LoRA's rank eigen beamforming,
#              truncated channel inversion, minimum-MSE power control, digital OFDMA (8 bits a
#              real; and in AirComp's airtime)
#   paper-power  final perplexity against the energy budget (every profile's energy offset, dB):
#              AirFL-LoRA, and AirComp and ideal FL at one fixed rank (the channel's knee), with
#              each point's aggregate SNR
#   paper-rank   the bound G(r) beside the measured loss, ranks up to 16, under rsLoRA's scale
#              α/√r and the standard α/r (capacity against step size), ideal FL at each rank
# Only `rounds` evaluates the held-out set after every round; the others before training and after
# the last round (they compare final numbers; every round's training loss is kept).
set -euo pipefail
cd "$(dirname "$0")/.."
quick=0 only="" publish=""
all="rounds power low-power rank german radio antennas devices paper-baselines paper-power paper-rank"
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
# --quick: the same experiments with two seeds and fewer points (a smoke test of every code path).
if ((quick)); then
  scenario=launch/scenarios/tiny.toml root=results/experiments-quick draws=3 seeds=(1 2)
  powers=(-20 -40) antennas=(4 8) devices=(2 4) rx=8
  # The paper regime's code paths on the tiny model: six devices far apart, imperfect CSI, eight
  # categories split Dirichlet(0.5).
  paper_scenario=launch/scenarios/tiny.toml
  paper_set='--set devices=6 --set channel.min_distance_m=15 --set channel.max_distance_m=250 --set channel.csi_nmse=0.01'
  paper_set+=' --set federation.data="fortunes:science,computers,food,literature,art,wisdom,people,work" --set federation.partition="dirichlet"'
  paper_energies=(-25 -45) paper_ranks=(2 8) paper_fixed=4 paper_eval_every=1
else
  scenario=launch/scenarios/default.toml root=results/experiments draws=200 seeds=(1 2 3)
  powers=(-20 -30 -40 -50) antennas=(4 8 16 32) devices=(2 4 8) rx=16
  paper_scenario=launch/scenarios/paper.toml paper_set=''
  paper_energies=(-5 -15 -25 -35 -45) paper_ranks=(2 4 8 16) paper_fixed=8 paper_eval_every=4
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
# The power sweep's knee (written by its report); the experiments at the knee run the sweep first.
knee() { cat "$root/power/knee.txt"; }

# Each experiment's variants, one per line: name|what it is|serve options[|series|x]
rounds_variants() {
  local same='--set federation.rank_planning=false --set federation.rank=@rank:rounds/airfl-lora'
  cat <<V
ideal|FL with ideal (error-free) aggregation, its own planned rank|--aggregation ideal --set federation.rank_planning=true
airfl-lora|AirFL-LoRA: planned rank, manifold receive beamforming|$method
ideal-same-rank|ideal FL at AirFL-LoRA's planned rank (each seed's)|--aggregation ideal $same
rank-2|AirComp, fixed rank 2, manifold (rsLoRA scale α/√r)|--set federation.rank_planning=false --set federation.rank=2|ranks
rank-4|AirComp, fixed rank 4, manifold (rsLoRA scale α/√r)|--set federation.rank_planning=false --set federation.rank=4|ranks
rank-8|AirComp, fixed rank 8, manifold (rsLoRA scale α/√r)|--set federation.rank_planning=false --set federation.rank=8|ranks
rank-2-constant|AirComp, fixed rank 2, the old constant scale γ = 2 (update grows with r)|--set federation.rank_planning=false --set federation.rank=2 --set federation.lora_scaling="constant"|ranks-constant
rank-4-constant|AirComp, fixed rank 4, the old constant scale γ = 2|--set federation.rank_planning=false --set federation.rank=4 --set federation.lora_scaling="constant"|ranks-constant
rank-8-constant|AirComp, fixed rank 8, the old constant scale γ = 2|--set federation.rank_planning=false --set federation.rank=8 --set federation.lora_scaling="constant"|ranks-constant
eigen|AirComp, AirFL-LoRA's rank, eigen beamforming|$same --set federation.beamforming="eigen"|beamformers
weakest|AirComp, AirFL-LoRA's rank, weakest-device beamforming|$same --set federation.beamforming="weakest"|beamformers
random|AirComp, AirFL-LoRA's rank, random orthonormal beamforming|$same --set federation.beamforming="random"|beamformers
tci|truncated channel inversion: eigen beamforming, a device 10 dB below the median sits the round out; AirFL-LoRA's rank|$same --set federation.beamforming="eigen" --set aircomp.truncation_db=10|baselines
mmse|minimum-MSE power control (not zero forcing), eigen beamforming; AirFL-LoRA's rank|$same --set federation.beamforming="eigen" --set aircomp.power_control="mmse"|baselines
single-stream|AirComp with L = 1, AirFL-LoRA's rank, manifold|$same --set aircomp.streams=1|streams-digital
digital|digital OFDMA, 8 bits a real, its own airtime; AirFL-LoRA's rank|--aggregation digital $same|streams-digital
digital-same-airtime|digital OFDMA in AirComp's airtime per round (unbiased compression into what each rate carries); AirFL-LoRA's rank|--aggregation digital $same --set federation.digital_same_airtime=true|streams-digital
V
}
power_variants() {
  # The channel's knee: AirComp and ideal FL at one fixed rank (rank 4), so the comparison is the
  # air's alone; AirFL-LoRA's own curve beside it moves with the rank it plans at each power.
  local fixed='--set federation.rank_planning=false --set federation.rank=4'
  echo "ideal-p0|ideal FL (no air: the same at every power)|=rounds/ideal|ideal|0"
  echo "airfl-lora-p0|AirFL-LoRA at the profiles' own transmit powers|=rounds/airfl-lora|airfl-lora|0"
  echo "ideal-fixed-p0|ideal FL at rank 4 (no air: the same at every power)|--aggregation ideal $fixed $final_only|ideal-fixed|0"
  echo "aircomp-fixed-p0|AirComp at rank 4, manifold, the profiles' own powers|=rounds/rank-4|aircomp-fixed|0"
  for p in "${powers[@]}"; do
    echo "ideal-p$p|ideal FL (no air: the same at every power)|=rounds/ideal|ideal|$p"
    echo "airfl-lora-p$p|AirFL-LoRA, every profile's transmit power $p dB|$method $final_only --set aircomp.tx_power_offset_db=$p|airfl-lora|$p"
    echo "ideal-fixed-p$p|ideal FL at rank 4 (no air: the same at every power)|=power/ideal-fixed-p0|ideal-fixed|$p"
    echo "aircomp-fixed-p$p|AirComp at rank 4, manifold, every profile's transmit power $p dB|$fixed $final_only --set aircomp.tx_power_offset_db=$p|aircomp-fixed|$p"
  done
}
low_power_variants() {
  local k; k=$(knee)
  local at="--set aircomp.tx_power_offset_db=$k $final_only"
  echo "ideal|FL with ideal aggregation (no air)|=rounds/ideal"
  echo "airfl-lora|AirFL-LoRA at $k dB|=power/airfl-lora-p$k"
  local same="--set federation.rank_planning=false --set federation.rank=@rank:low-power/airfl-lora $at"
  echo "ideal-same-rank|ideal FL at AirFL-LoRA's planned rank at $k dB (each seed's)|--aggregation ideal $same"
  echo "rank-2|AirComp, fixed rank 2, manifold, $k dB|--set federation.rank_planning=false --set federation.rank=2 $at|ranks"
  echo "rank-4|AirComp, fixed rank 4, manifold, $k dB|--set federation.rank_planning=false --set federation.rank=4 $at|ranks"
  echo "rank-8|AirComp, fixed rank 8, manifold, $k dB|--set federation.rank_planning=false --set federation.rank=8 $at|ranks"
  echo "eigen|AirComp, AirFL-LoRA's rank, eigen beamforming, $k dB|$same --set federation.beamforming=\"eigen\"|beamformers"
  echo "weakest|AirComp, AirFL-LoRA's rank, weakest-device beamforming, $k dB|$same --set federation.beamforming=\"weakest\"|beamformers"
  echo "random|AirComp, AirFL-LoRA's rank, random beamforming, $k dB|$same --set federation.beamforming=\"random\"|beamformers"
  echo "tci|truncated channel inversion (eigen, 10 dB below the median sits out), AirFL-LoRA's rank, $k dB|$same --set federation.beamforming=\"eigen\" --set aircomp.truncation_db=10|baselines"
  echo "mmse|minimum-MSE power control (eigen), AirFL-LoRA's rank, $k dB|$same --set federation.beamforming=\"eigen\" --set aircomp.power_control=\"mmse\"|baselines"
  echo "single-stream|AirComp with L = 1, AirFL-LoRA's rank, manifold, $k dB|$same --set aircomp.streams=1|streams-digital"
  echo "digital-same-airtime|digital OFDMA in AirComp's airtime (unbiased compression), AirFL-LoRA's rank, $k dB|--aggregation digital $same --set federation.digital_same_airtime=true|streams-digital"
}
rank_variants() {
  local k; k=$(knee)
  for r in 2 4 8; do echo "default-rank-$r|fixed rank $r, default power|=rounds/rank-$r|default power|$r"; done
  # The same ranks under the old constant scale (γ = 2 at every rank): which effect is step size.
  for r in 2 4 8; do echo "default-constant-rank-$r|fixed rank $r, default power, constant scale γ = 2|=rounds/rank-$r-constant|default power, constant scale|$r"; done
  echo "default-planned|AirFL-LoRA (planned rank), default power|=rounds/airfl-lora|default power|rank"
  for r in 2 4 8; do echo "knee-rank-$r|fixed rank $r, $k dB|=low-power/rank-$r|$k dB|$r"; done
  echo "knee-planned|AirFL-LoRA (planned rank), $k dB|=low-power/airfl-lora|$k dB|rank"
}
antennas_variants() {
  local k; k=$(knee)
  for n in "${antennas[@]}"; do
    echo "ideal-nr$n|ideal FL at AirFL-LoRA's rank at this N_r (no air)|--aggregation ideal --set federation.rank_planning=false --set federation.rank=@rank:antennas/airfl-lora-nr$n $final_only|ideal|$n"
    if ((n == rx)); then echo "airfl-lora-nr$n|AirFL-LoRA, N_r = $n (the scenario's), $k dB|=low-power/airfl-lora|airfl-lora|$n"
    else echo "airfl-lora-nr$n|AirFL-LoRA, N_r = $n, $k dB|$method $final_only --set aircomp.tx_power_offset_db=$k --set channel.rx_antennas=$n|airfl-lora|$n"; fi
  done
}
devices_variants() {
  local k; k=$(knee)
  local data='--set federation.data="fortunes:science,computers,food,literature,art,wisdom,people,work" --set federation.partition="dirichlet" --set federation.dirichlet_alpha=0.5'
  for n in "${devices[@]}"; do
    echo "ideal-k$n|ideal FL, K = $n, at AirFL-LoRA's rank|--aggregation ideal --set federation.rank_planning=false --set federation.rank=@rank:devices/airfl-lora-k$n --set devices=$n $data $final_only|ideal|$n"
    echo "airfl-lora-k$n|AirFL-LoRA, K = $n, $k dB|$method --set devices=$n $data $final_only --set aircomp.tx_power_offset_db=$k|airfl-lora|$n"
  done
}
german_variants() {
  local data='--set federation.data="fortunes:de/zitate,de/witze,de/unfug,de/regeln"'
  echo "ideal|German fortunes (4 categories, one per device): ideal FL at AirFL-LoRA's rank|--aggregation ideal --set federation.rank_planning=false --set federation.rank=@rank:german/airfl-lora $data $final_only"
  echo "airfl-lora|German fortunes: AirFL-LoRA|$method $data $final_only"
  echo "digital-same-airtime|German fortunes: digital OFDMA in AirComp's airtime, AirFL-LoRA's rank|--aggregation digital --set federation.rank_planning=false --set federation.rank=@rank:german/airfl-lora --set federation.digital_same_airtime=true $data $final_only"
}

# The scenario an experiment's runs use.
scenario_of() { [[ $1 == paper-* ]] && echo "$paper_scenario" || echo "$scenario"; }

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
  local exp=$1 line name options seed
  while IFS= read -r line; do
    IFS='|' read -r name _ options _ <<<"$line"
    [[ $options == =* ]] && continue
    for seed in "${seeds[@]}"; do
      [[ ! -L $root/$exp/$name-seed$seed && -f $root/$exp/$name-seed$seed/summary.json && $(cat "$root/$exp/$name-seed$seed/options.txt" 2>/dev/null || echo "$options") == "$options" ]] || pending=$((pending + 1))
    done
  done < <("${exp//-/_}_variants")
}

run_experiment() {
  local exp=$1 dir=$root/$1 xlabel=() line name
  mkdir -p "$dir"
  "${exp//-/_}_variants" > "$dir/variants.txt"
  pending=$started; count_pending "$exp"
  local i=0 n; n=$(( $(wc -l < "$dir/variants.txt") * ${#seeds[@]} ))
  while IFS= read -r line; do
    name=${line%%|*}
    for seed in "${seeds[@]}"; do
      i=$((i + 1))
      ensure_run "$exp" "$name" "$seed" "run $i/$n"
    done
  done < "$dir/variants.txt"
  case $exp in
    power) xlabel=(--x-label "transmit power offset (dB)") ;;
    antennas) xlabel=(--x-label "BS antennas N_r" --x-log) ;;
    devices) xlabel=(--x-label "devices K" --x-log) ;;
    rank|paper-rank) xlabel=(--x-label "LoRA rank r") ;;
    paper-power) xlabel=(--x-label "transmit energy offset (dB)") ;;
  esac
  "$bin/basestation" report --experiment "$dir" --scenario "$(scenario_of "$exp")" --seeds "$(IFS=,; echo "${seeds[*]}")" "${xlabel[@]}"
  echo "experiments: $dir/REPORT.md" >&2
}

knee_fresh=0
for e in $all; do
  [[ -z $only || $only == "$e" ]] || continue
  [[ $e != power ]] || knee_fresh=1
  if [[ $e == radio ]]; then
    radio_args="--scenario $scenario --draws $draws --antennas $(IFS=,; echo "${antennas[*]}")"
    if [[ ! -f $root/radio/beam-sweep.csv || $(cat "$root/radio/options.txt" 2>/dev/null) != "$radio_args" ]]; then
      echo "experiments: radio: beamformers against N_r, $draws channel draws" >&2
      # shellcheck disable=SC2086
      "$bin/basestation" beam-sweep $radio_args --out "$root/radio"
      echo "$radio_args" > "$root/radio/options.txt"
    fi
    echo "experiments: $root/radio/REPORT.md" >&2
    continue
  fi
  # The knee comes from the power sweep as it stands now (its report is rewritten first).
  case $e in low-power|rank|antennas|devices) ((knee_fresh)) || { run_experiment power; knee_fresh=1; } ;; esac
  run_experiment "$e"
done
if [[ -n $publish ]]; then
  "$bin/basestation" publish --experiments "$root" --order "${all// /,}" --out "$publish" --command "launch/experiments.sh$( ((quick)) && echo " --quick")"
  echo "experiments: $publish/REPORT.md" >&2
fi
