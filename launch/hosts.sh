#!/usr/bin/env bash
# The project's own test hosts: a base-station host and an edge host in two network namespaces,
# joined by a veth pair (a backhaul) with a one-way delay and a rate limit in each direction.
#   launch/hosts.sh up [--delay-ms D] [--rate R] [--port P] [--print-relay]   (R in tc's units, e.g. 100mbit)
#   launch/hosts.sh down
# `up` prints the variables launch/fleet.sh reads: FLEET_BS_NETNS, FLEET_EDGE_NETNS and FLEET_CONNECT,
# with the base station to bind tcp://10.77.0.1:P. Delay and rate are tc netem's when the kernel
# has sch_netem; on a kernel without it the rate is tc tbf's and the delay a relay in the edge host
# (`basestation relay`, D each way) that the nodes dial instead; with --print-relay the relay's
# command is printed (RELAY=…) for the caller to run instead of started. Needs root and iproute2.
# On real separate hosts none of this is needed: bind the base station's endpoint on the host's
# address (`--endpoint tcp://*:5555`) and give every node `--bs tcp://BS-HOST:5555`.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?up or down}; shift || true
delay=20 rate=100mbit port=5561 print_relay=
while [[ $# -gt 0 ]]; do
  case $1 in
    --delay-ms) delay=$2; shift ;;
    --rate) rate=$2; shift ;;
    --port) port=$2; shift ;;
    --print-relay) print_relay=1 ;;
    *) echo "hosts: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
bs=airfl-bs edge=airfl-edge state=/tmp/airfl-hosts.relay.pid

down() {
  [[ -f $state ]] && { kill "$(cat "$state")" 2>/dev/null || true; rm -f "$state"; }
  ip netns del "$bs" 2>/dev/null || true
  ip netns del "$edge" 2>/dev/null || true
}
case $action in
  down) down; exit 0 ;;
  up) ;;
  *) echo "hosts: up or down" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "hosts: needs root (network namespaces)" >&2; exit 1; }
command -v ip >/dev/null && command -v tc >/dev/null || { echo "hosts: needs iproute2 (ip, tc)" >&2; exit 1; }
down
ip netns add "$bs"
ip netns add "$edge"
ip link add airfl-bs0 type veth peer name airfl-edge0
ip link set airfl-bs0 netns "$bs"
ip link set airfl-edge0 netns "$edge"
ip -n "$bs" addr add 10.77.0.1/24 dev airfl-bs0
ip -n "$edge" addr add 10.77.0.2/24 dev airfl-edge0
for ns in "$bs" "$edge"; do ip -n "$ns" link set lo up; done
ip -n "$bs" link set airfl-bs0 up
ip -n "$edge" link set airfl-edge0 up

connect="tcp://10.77.0.1:$port" how="netem delay ${delay} ms, rate $rate"
if ip netns exec "$bs" tc qdisc add dev airfl-bs0 root netem delay "${delay}ms" rate "$rate" 2>/dev/null; then
  ip netns exec "$edge" tc qdisc add dev airfl-edge0 root netem delay "${delay}ms" rate "$rate"
else
  for pair in "$bs airfl-bs0" "$edge airfl-edge0"; do
    read -r ns dev <<<"$pair"
    ip netns exec "$ns" tc qdisc add dev "$dev" root tbf rate "$rate" burst 256kb latency 200ms
  done
  bin=${AIRFL_BIN_DIR:-.build/release}
  relay=(ip netns exec "$edge" "$bin/basestation" relay --listen "10.77.0.2:$port" --to "10.77.0.1:$port" --delay-ms "$delay")
  if [[ -n $print_relay ]]; then
    echo "RELAY=${relay[*]}"
  else
    setsid "${relay[@]}" < /dev/null > /tmp/airfl-hosts.relay.log 2>&1 &
    echo $! > "$state"
  fi
  connect="tcp://10.77.0.2:$port" how="tbf rate $rate; no sch_netem in this kernel, so the delay (${delay} ms each way) is a relay in $edge"
fi
echo "hosts: $bs (10.77.0.1) and $edge (10.77.0.2), $how" >&2
echo "FLEET_BS_NETNS=$bs FLEET_EDGE_NETNS=$edge FLEET_CONNECT=$connect"
