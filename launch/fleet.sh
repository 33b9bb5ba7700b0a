#!/usr/bin/env bash
# The fleet: a base station and one edge process per [[nodes]] entry of a scenario, over ZeroMQ.
#   launch/fleet.sh [launch/scenarios/X.toml [serve options…]]     (default: launch/scenarios/default.toml)
# Options after the scenario go to `basestation serve` (e.g. --aggregation ideal --seed 2 --rounds 4;
# FLEET_RUN_DIR=results/X launch/fleet.sh SCENARIO --resume continues run X from its last round).
# Sets up what is missing (packages, release build, model), shows per-round progress, stops every
# child on Ctrl-C or when the base station fails, and prints the run's summary. Results (metrics.csv,
# summary.json, loss.svg, perplexity.svg, adapter.gguf, peft/, checkpoint/, logs/) go to results/<run>/.
# CURVE by default: the scenario's keys are made where missing (launch/keys.sh; FLEET_KEYS names the
# key directory, default keys/<scenario name>); --insecure among the options runs plaintext.
# Environment: FLEET_RUN_DIR names the results directory instead; AIRFL_BUILD=debug uses the debug
# build instead of the release one; AIRFL_BIN_DIR uses the executables there as they are (no setup).
# Separate hosts (launch/hosts.sh): FLEET_BS_NETNS runs the base station in that network namespace,
# FLEET_EDGE_NETNS (one or more, space-separated) the edge nodes (node i in the (i mod N)-th),
# FLEET_CONNECT is the endpoint the nodes dial.
# FLEET_MEMO names a memo directory (serve --memo, edgenode run --memo): the base model's held-out
# evaluation and training from a fresh adapter, shared with earlier runs (the same bits as computing them).
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-launch/scenarios/default.toml}
serve_options=("${@:2}")
[[ -f $scenario ]] || { echo "fleet: no scenario file $scenario" >&2; exit 2; }

if [[ -n ${AIRFL_BIN_DIR:-} ]]; then bin=$AIRFL_BIN_DIR; else
  build=${AIRFL_BUILD:-release}
  launch/setup.sh "$build" >&2
  bin=.build/$build
fi

fleet=$("$bin/basestation" serve --scenario "$scenario" "${serve_options[@]}" --print-fleet)
model=$(awk '$1 == "model" { print $2 }' <<<"$fleet")
endpoint=$(awk '$1 == "endpoint" { print $2 }' <<<"$fleet")
if [[ ! -f $model ]]; then
  case "$model" in
    *tiny*.gguf) "$bin/edgenode" tiny-model --out "$model" >&2 ;;
    *) echo "fleet: model $model is missing (launch/fetch-model.sh fetches the default one)" >&2; exit 1 ;;
  esac
fi

run=${FLEET_RUN_DIR:-results/$(basename "$scenario" .toml)-$(date +%Y%m%d-%H%M%S)}
# An earlier run's directory is refused before its logs are touched (serve refuses it too), unless
# --overwrite is among the serve options; with --resume (and FLEET_RUN_DIR naming the run) the run
# continues from its checkpoint and the logs are appended to.
resuming=0
[[ " ${serve_options[*]} " == *" --resume "* ]] && resuming=1
if [[ $resuming == 1 && -z ${FLEET_RUN_DIR:-} ]]; then
  echo "fleet: --resume continues a run: set FLEET_RUN_DIR to its results directory" >&2; exit 2
fi
if [[ " ${serve_options[*]} " != *" --overwrite "* && $resuming == 0 ]]; then
  for f in metrics.csv summary.json checkpoint/checkpoint.gguf checkpoint/state.json checkpoint/adapter.gguf adapter.gguf; do
    [[ -e $run/$f ]] && { echo "fleet: $run already holds a run ($f); give another FLEET_RUN_DIR, or --overwrite to replace it" >&2; exit 2; }
  done
fi
mkdir -p "$run/logs"

# CURVE unless --insecure: the scenario's keys (FLEET_KEYS, a --keys among the serve options, or
# keys/<scenario name>), made where missing; the nodes authenticate with theirs.
insecure=0; keys=${FLEET_KEYS:-keys/$(basename "$scenario" .toml)}; keys_given=0
for ((i = 0; i < ${#serve_options[@]}; i++)); do
  case "${serve_options[$i]}" in
    --insecure) insecure=1 ;;
    --keys) keys=${serve_options[$((i + 1))]:-}; keys_given=1 ;;
  esac
done
security=(); node_security=(--insecure)
memo=(); [[ -n ${FLEET_MEMO:-} ]] && memo=(--memo "$FLEET_MEMO")
if [[ $insecure == 0 ]]; then
  launch/keys.sh "$bin" "$scenario" "$keys" "${serve_options[@]}"
  [[ $keys_given == 1 ]] || security=(--keys "$keys")
fi
pids=()
stop_children() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
}
trap 'echo "fleet: interrupted; stopping every process" >&2; stop_children; exit 130' INT TERM
trap stop_children EXIT

# In a network namespace when asked (launch/hosts.sh's test hosts).
bs_ns=(); edge_ns=()
[[ -n ${FLEET_BS_NETNS:-} ]] && bs_ns=(ip netns exec "$FLEET_BS_NETNS")
read -r -a edge_hosts <<<"${FLEET_EDGE_NETNS:-}"

start=$(date +%s)
echo "fleet: $scenario → $run" >&2
append=(); [[ $resuming == 1 ]] && append=(-a)
"${bs_ns[@]}" "$bin/basestation" serve --scenario "$scenario" "${serve_options[@]}" "${security[@]}" "${memo[@]}" --results "$run" > "$run/logs/basestation.out" 2> >(tee "${append[@]}" "$run/logs/basestation.log" >&2) &
bs=$!
pids+=("$bs")
connect=${FLEET_CONNECT:-${endpoint/\*/127.0.0.1}}
declare -A node_pid=()
index=0
while read -r kind name profile; do
  [[ $kind == node ]] || continue
  ((${#edge_hosts[@]})) && edge_ns=(ip netns exec "${edge_hosts[index % ${#edge_hosts[@]}]}")
  index=$((index + 1))
  [[ $resuming == 1 ]] || : > "$run/logs/$name.log"
  # One BLAS thread per edge process: the fleet shares this machine's cores.
  # The real-time scale comes from the base station's welcome (federation.realtime_scale).
  [[ $insecure == 1 ]] || node_security=(--key "$keys/nodes/$name.key" --server-key "$keys/basestation.pub")
  OPENBLAS_NUM_THREADS=1 "${edge_ns[@]}" "$bin/edgenode" run --bs "$connect" --name "$name" --profile "$profile" --model "$model" "${node_security[@]}" "${memo[@]}" \
    >> "$run/logs/$name.log" 2>&1 &
  pids+=("$!")
  node_pid[$name]=$!
done <<<"$fleet"

# Watch: the base station decides the run; a node that dies is reported (the base station goes on without it).
declare -A reported=()
while kill -0 "$bs" 2>/dev/null; do
  for name in "${!node_pid[@]}"; do
    p=${node_pid[$name]}
    if [[ -z ${reported[$name]:-} ]] && ! kill -0 "$p" 2>/dev/null; then
      rc=0; wait "$p" || rc=$?
      if [[ $rc -ne 0 ]]; then
        echo "fleet: node $name exited with status $rc; last lines of $run/logs/$name.log:" >&2
        tail -n 5 "$run/logs/$name.log" >&2 || true
      fi
      reported[$name]=1
    fi
  done
  sleep 1
done
status=0
wait "$bs" || status=$?
if [[ $status -ne 0 ]]; then
  echo "fleet: the base station failed (status $status); see $run/logs/basestation.log" >&2
  exit "$status"
fi
cat "$run/logs/basestation.out"
echo "fleet: wall time $(( $(date +%s) - start )) s; results in $run" >&2
