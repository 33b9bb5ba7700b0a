#!/usr/bin/env bash
# The CURVE keys of a scenario's fleet, made where missing:
#   launch/keys.sh BIN_DIR SCENARIO KEY_DIR [serve options…]
# KEY_DIR/basestation.key and .pub (`basestation keys`), KEY_DIR/nodes/NAME.key and .pub for every
# [[nodes]] entry (`edgenode keys`), and KEY_DIR/allowed-nodes listing each node's public key, which
# `basestation serve --keys KEY_DIR` admits. Existing keys are kept. On real separate hosts each
# device makes its own pair and only its .pub line reaches the base station's allowed-nodes.
set -euo pipefail
bin=${1:?usage: launch/keys.sh BIN_DIR SCENARIO KEY_DIR [serve options…]}
scenario=${2:?usage: launch/keys.sh BIN_DIR SCENARIO KEY_DIR}
dir=${3:?usage: launch/keys.sh BIN_DIR SCENARIO KEY_DIR}
shift 3
fleet=$("$bin/basestation" serve --scenario "$scenario" "$@" --print-fleet)
mkdir -p "$dir/nodes"
chmod 700 "$dir" "$dir/nodes"
[[ -f $dir/basestation.key ]] || "$bin/basestation" keys --dir "$dir" >&2
touch "$dir/allowed-nodes"
while read -r kind name _; do
  [[ $kind == node ]] || continue
  if [[ ! -f $dir/nodes/$name.key ]]; then
    # A new pair replaces any line of an earlier one.
    sed -i "/^$name /d" "$dir/allowed-nodes"
    "$bin/edgenode" keys --name "$name" --dir "$dir/nodes" >/dev/null
  fi
  grep -q "^$name " "$dir/allowed-nodes" || echo "$name $(cat "$dir/nodes/$name.pub")" >> "$dir/allowed-nodes"
done <<<"$fleet"
