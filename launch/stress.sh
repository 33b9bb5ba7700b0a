#!/usr/bin/env bash
# Stress the base station: for each frame size and each K, a base station in stress mode
# (`basestation stress`: synthetic rounds, the full air and combining, no model) under a flood of
# K synthetic nodes (`edgenode flood`), and beside it, with the same frame size, socket pattern and
# sender count, libzmq's own throughput (`basestation wire-probe` ← `edgenode flood --raw`).
#   launch/stress.sh [--quick] [--seconds S] [--nodes "1 2 4 …"] [--frame-kib "16 64 256"] [--format cf32|ci16] [--security plaintext|curve|both] [--overlap-round-end] [--cores shared|split] [--window-frames N] [--receiver combiner|antennas] [--threads N] [--summing workers|receiving-thread] [--reps N]
# Writes results/stress/: one JSON per point (points/), stress.json, stress.csv and stress.svg.
# --cores shared (default): the base station and the flood share this machine's cores, unpinned (the
# OS schedules them). --cores split: the base station (and the probe in its place) is pinned to the
# first half of the cores, the flood to the other half, as if the nodes were other machines.
# --security curve encrypts and authenticates every connection (ZeroMQ CURVE; the probe too), both
# measures each point both ways (default plaintext). Rounds are played one after another, as a
# fleet's base station must; --overlap-round-end runs a round's end (noise, combining) while the
# next round's frames arrive (stress rounds are independent). --window-frames N: the symbols frames
# the nodes may have in flight, all together (the transmit orders' windows and the grants; default
# `basestation stress`'s 32; 0: no window, every node sends its whole transmission at once).
# --receiver antennas sums the air per antenna and then combines (default: in the combiner's space, as serve does).
# --threads N: the base station's receiver workers (default: one per core); --summing receiving-thread
# sums every frame on the thread that reads the network instead (no hand-off to the workers).
# --reps N measures each point N times, raw libzmq and ours alternating (the machine's speed drifts:
# a single raw run can be 25 % off the next); the report keeps the run with the median ratio and
# every run's figures beside it.
# Environment: AIRFL_BIN_DIR uses the executables there as they are (no setup); STRESS_DIR the output.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=8 nodes="1 2 4 8 16 32 64" frame_kib="16 64 256" format=cf32 security=plaintext overlap=() cores=shared window=() receiver=() threads=() summing=() reps=1
rx=16 tx=4 streams=4 subcarriers=64 round_symbols=1024
while [[ $# -gt 0 ]]; do
  case $1 in
    --quick) seconds=2 nodes="1 4" frame_kib="64" round_symbols=256 ;;
    --seconds) seconds=$2; shift ;;
    --nodes) nodes=$2; shift ;;
    --frame-kib) frame_kib=$2; shift ;;
    --format) format=$2; shift ;;
    --security) security=$2; shift ;;
    --overlap-round-end) overlap=(--overlap-round-end) ;;
    --cores) cores=$2; shift ;;
    --window-frames) window=(--window-frames "$2"); shift ;;
    --receiver) receiver=(--receiver "$2"); shift ;;
    --threads) threads=(--threads "$2"); shift ;;
    --summing) summing=(--summing "$2"); shift ;;
    --reps) reps=$2; shift ;;
    *) echo "stress: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

[[ $reps =~ ^[1-9][0-9]*$ ]] || { echo "stress: --reps takes a whole number ≥ 1 (got $reps)" >&2; exit 2; }
if [[ -n ${AIRFL_BIN_DIR:-} ]]; then bin=$AIRFL_BIN_DIR; else
  launch/setup.sh release >&2
  bin=.build/release
fi
out=${STRESS_DIR:-results/stress}
mkdir -p "$out/points" "$out/logs"
port=$((5700 + RANDOM % 200))

pids=()
stop_children() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done; pids=(); }
trap 'echo "stress: interrupted" >&2; stop_children; exit 130' INT TERM
trap stop_children EXIT

# Who runs where: bs_cpu for the base station and the probe, flood_cpu for the senders.
bs_cpu=() flood_cpu=() cores_text="the base station and the flood share the machine's cores, unpinned"
case $cores in
  shared) ;;
  split)
    n=$(nproc)
    (( n >= 2 )) || { echo "stress: --cores split needs at least 2 cores (this machine has $n)" >&2; exit 2; }
    command -v taskset > /dev/null || { echo "stress: --cores split needs taskset (util-linux)" >&2; exit 2; }
    half=$((n / 2))
    bs_cpu=(taskset -c "0-$((half - 1))") flood_cpu=(taskset -c "$half-$((n - 1))")
    cores_text="split: the base station (and the probe) pinned to cores 0-$((half - 1)), the flood to cores $half-$((n - 1))" ;;
  *) echo "stress: --cores shared or split" >&2; exit 2 ;;
esac
bytes_per_sample=8; [[ $format == ci16 ]] && bytes_per_sample=4
case $security in plaintext) modes=plaintext ;; curve) modes=curve ;; both) modes="plaintext curve" ;;
  *) echo "stress: --security plaintext, curve or both" >&2; exit 2 ;; esac
for mode in $modes; do
for kib in $frame_kib; do
  # OFDM symbols per frame for a payload of `kib` KiB: N_sc · N_t samples per OFDM symbol.
  frame_symbols=$(( kib * 1024 / (subcarriers * tx * bytes_per_sample) ))
  (( frame_symbols >= 1 )) || { echo "stress: $kib KiB is less than one OFDM symbol" >&2; exit 2; }
  for k in $nodes; do
  for rep in $(seq 1 "$reps"); do
    point="$out/points/k${k}-f${kib}k-$format"
    server_curve=(); node_curve=()
    [[ $mode == curve ]] && point+="-curve"
    (( reps > 1 )) && point+="-r$rep"
    [[ $mode == curve ]] && { server_curve=(--curve "$point.key.pub"); node_curve=(--server-key "$point.key.pub"); }
    echo "stress: K = $k, frames of $kib KiB ($frame_symbols OFDM symbols), $format, $mode$( (( reps > 1 )) && echo ", run $rep of $reps")" >&2
    # libzmq alone: the same frames, pattern, senders and security, received and discarded.
    # (The probe counts from its first message to its last and stops 1 s after the flood does.)
    rm -f "$point.key.pub"
    "${bs_cpu[@]}" "$bin/basestation" wire-probe --listen "tcp://127.0.0.1:$port" --seconds "$((seconds + 30))" "${server_curve[@]}" > "$point.raw.json" 2> "$out/logs/probe.log" &
    probe=$!; pids+=("$probe")
    while [[ $mode == curve && ! -s $point.key.pub ]]; do sleep 0.05; done
    sleep 0.3
    OPENBLAS_NUM_THREADS=1 "${flood_cpu[@]}" "$bin/edgenode" flood --raw --connect "tcp://127.0.0.1:$port" --nodes "$k" --frame-symbols "$frame_symbols" \
      --subcarriers "$subcarriers" --rows "$tx" --format "$format" --seconds "$seconds" "${node_curve[@]}" > "$point.raw-flood.json"
    wait "$probe"; pids=()
    port=$((port + 1))
    # The base station in stress mode under the protocol flood.
    rm -f "$point.key.pub"
    "${bs_cpu[@]}" "$bin/basestation" stress --listen "tcp://127.0.0.1:$port" --nodes "$k" --rx-antennas $rx --tx-antennas $tx --streams $streams \
      --subcarriers $subcarriers --round-symbols $round_symbols --format "$format" --seconds "$seconds" --json "$point.json" \
      "${server_curve[@]}" "${overlap[@]}" "${window[@]}" "${receiver[@]}" "${threads[@]}" "${summing[@]}" --log-level warning 2> "$out/logs/stress.log" &
    bs=$!; pids+=("$bs")
    while [[ $mode == curve && ! -s $point.key.pub ]]; do sleep 0.05; done
    sleep 0.3
    OPENBLAS_NUM_THREADS=1 "${flood_cpu[@]}" "$bin/edgenode" flood --connect "tcp://127.0.0.1:$port" --nodes "$k" --frame-symbols "$frame_symbols" \
      --format "$format" --seconds "$((seconds + 60))" "${node_curve[@]}" > "$point.flood.json"
    wait "$bs"; pids=()
    port=$((port + 1))
    rm -f "$point.key.pub"
  done
  done
done
done
"$bin/basestation" stress-report --points "$out/points" --out "$out" --cores "$cores_text"
echo "stress: $out/stress.json, $out/stress.csv, $out/stress.svg" >&2
