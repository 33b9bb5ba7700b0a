#!/usr/bin/env bash
# The project's own test hosts: a base-station host and N edge hosts, each in its own network
# namespace, each edge host joined to the base station by a backhaul link with a one-way delay, a
# line rate and random packet loss in each direction.
#   launch/hosts.sh up [--edge-hosts N] [--delay-ms D] [--rate R] [--loss-percent P] [--seed S] [--port PORT]
#   launch/hosts.sh cut EDGE-HOST | restore EDGE-HOST     (pull the host's cable out, put it back)
#   launch/hosts.sh down
# Hosts: airfl-bs (10.77.0.1, and 10.77.i.1 towards edge host i) and airfl-edge0 … airfl-edge{N-1}
# (10.77.i.2). Each link is `lab link` (user space, two TUN devices): netem's impairments in
# the packet path, so TCP retransmits a lost segment after a round trip of the emulated delay, as on
# a real backhaul, on any kernel (sch_netem is not needed) and with seeded losses. A cut drops every
# packet silently (no reset, no ICMP) until restored. R is in tc's units (e.g. 100mbit).
# `up` prints what launch/fleet.sh reads: FLEET_BS_NETNS, FLEET_EDGE_NETNS (the edge hosts; node i
# runs on host i mod N) and FLEET_CONNECT (the base station binds tcp://10.77.0.1:PORT).
# Links log to /tmp/airfl-hosts/<edge host>.log (their packet counts when brought down). Needs root and iproute2.
# On real separate hosts none of this is needed: bind the base station's endpoint on the host's
# address (`--endpoint tcp://*:5555`) and give every node `--bs tcp://BS-HOST:5555`.
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:?up, cut, restore or down}; shift || true
hosts=1 delay=20 rate=100mbit loss=0 seed=1 port=5561 target=
while [[ $# -gt 0 ]]; do
  case $1 in
    --edge-hosts) hosts=$2; shift ;;
    --delay-ms) delay=$2; shift ;;
    --rate) rate=$2; shift ;;
    --loss-percent) loss=$2; shift ;;
    --seed) seed=$2; shift ;;
    --port) port=$2; shift ;;
    -*) echo "hosts: unknown option $1" >&2; exit 2 ;;
    *) target=$1 ;;
  esac
  shift
done
bs=airfl-bs state=/tmp/airfl-hosts
bin=${AIRFL_BIN_DIR:-.build/release}

down() {
  for pid in "$state"/*.pid; do
    [[ -f $pid ]] || continue
    kill "$(cat "$pid")" 2>/dev/null || true
    rm -f "$pid"
  done
  sleep 0.2
  for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^airfl-(bs|edge[0-9]*)$/ { print $1 }'); do ip netns del "$ns" 2>/dev/null || true; done
}
signal() {   # signal EDGE-HOST SIG: to that host's link
  [[ $target =~ ^airfl-edge[0-9]+$ && -f $state/$target.pid ]] || { echo "hosts: no link to edge host '$target' (up first)" >&2; exit 2; }
  kill "-$1" "$(cat "$state/$target.pid")"
}
case $action in
  down) down; exit 0 ;;
  cut) signal USR1; echo "hosts: $target cut off" >&2; exit 0 ;;
  restore) signal USR2; echo "hosts: $target restored" >&2; exit 0 ;;
  up) ;;
  *) echo "hosts: up, cut, restore or down" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "hosts: needs root (network namespaces)" >&2; exit 1; }
command -v ip >/dev/null || { echo "hosts: needs iproute2 (ip)" >&2; exit 1; }
[[ $hosts =~ ^[0-9]+$ && $hosts -ge 1 && $hosts -le 200 ]] || { echo "hosts: --edge-hosts $hosts: 1…200" >&2; exit 2; }
[[ -x $bin/lab ]] || { echo "hosts: no $bin/lab (launch/setup.sh release, or AIRFL_BIN_DIR)" >&2; exit 1; }
if [[ ! -c /dev/net/tun ]]; then   # a container may come without the TUN device node
  modprobe tun 2>/dev/null || true
  mkdir -p /dev/net && mknod -m 0666 /dev/net/tun c 10 200 \
    || { echo "hosts: no /dev/net/tun and cannot make it (the kernel's tun driver is needed)" >&2; exit 1; }
fi
down
mkdir -p "$state"
ip netns add "$bs"
ip -n "$bs" link set lo up
edges=()
for ((i = 0; i < hosts; i++)); do
  edge=airfl-edge$i
  edges+=("$edge")
  ip netns add "$edge"
  ip -n "$edge" link set lo up
  ip -n "$bs" tuntap add dev "airfl-bs$i" mode tun
  ip -n "$edge" tuntap add dev "$edge" mode tun
  ip -n "$bs" addr add "10.77.$i.1" peer "10.77.$i.2" dev "airfl-bs$i"
  ip -n "$edge" addr add "10.77.$i.2" peer "10.77.$i.1" dev "$edge"
  ip -n "$bs" link set "airfl-bs$i" up
  ip -n "$edge" link set "$edge" up
  ip -n "$edge" route add 10.77.0.0/16 dev "$edge"
  setsid "$bin/lab" link --end "$bs:airfl-bs$i" --end "$edge:$edge" --delay-ms "$delay" --rate "$rate" \
    --loss-percent "$loss" --seed "$((seed + i))" < /dev/null > "$state/$edge.log" 2>&1 &
  echo $! > "$state/$edge.pid"
done
for edge in "${edges[@]}"; do
  for _ in $(seq 100); do grep -q "link: ready" "$state/$edge.log" 2>/dev/null && break; sleep 0.05; done
  grep -q "link: ready" "$state/$edge.log" || { echo "hosts: the link to $edge did not start:" >&2; cat "$state/$edge.log" >&2; down; exit 1; }
done
echo "hosts: $bs (10.77.0.1) and ${edges[*]}; each link ${delay} ms each way, $rate, ${loss} % loss (lab link, seed $seed)" >&2
echo "FLEET_BS_NETNS=$bs FLEET_EDGE_NETNS='${edges[*]}' FLEET_CONNECT=tcp://10.77.0.1:$port"
