#!/usr/bin/env bash
# The lockout attack: the base station of a tiny CURVE fleet (4 rounds, registration timeout 20 s) at
# the usual soft limit of 1,024 open files; a process without a key opens and holds 1,100 idle TCP
# connections; then the three nodes start. Wall time from the nodes' start to the base station's exit.
#   tools/lockout_attack.sh LABEL BIN_DIR      (keys/tiny and models/tiny.gguf made by a tiny fleet run first)
set -u
cd "$(dirname "$0")/.."
side=${1:?usage: tools/lockout_attack.sh LABEL BIN_DIR} bin=${2:?usage: tools/lockout_attack.sh LABEL BIN_DIR}
run=/tmp/lockout-$side; rm -rf $run /tmp/flood-ready; mkdir -p $run
(ulimit -Sn 1024; exec $bin/basestation serve --scenario launch/scenarios/tiny.toml --set federation.register_timeout_s=20 --keys keys/tiny --results $run/results) > $run/bs.out 2> $run/bs.log &
bs=$!
sleep 1
python3 tools/connection_flood.py 127.0.0.1 5561 1100 120 /tmp/flood-ready 2> $run/flood.log &
flood=$!
for i in $(seq 1 100); do [[ -e /tmp/flood-ready ]] && break; sleep 0.1; done
[[ -e /tmp/flood-ready ]] || echo "$side: the flood never had 1100 open"
start=$(date +%s.%N)
for n in pi4:raspberry-pi-4 pi5:raspberry-pi-5 esp32:esp32-s3; do
  name=${n%%:*} prof=${n##*:}
  OPENBLAS_NUM_THREADS=1 $bin/edgenode run --bs tcp://127.0.0.1:5561 --name $name --profile hwprofiles/$prof.toml --model models/tiny.gguf --key keys/tiny/nodes/$name.key --server-key keys/tiny/basestation.pub > $run/$name.log 2>&1 &
done
wait $bs; rc=$?
end=$(date +%s.%N)
kill $flood 2>/dev/null; wait $flood 2>/dev/null
pkill -f "edgenode run --bs tcp://127.0.0.1:5561" 2>/dev/null
echo "$side: base station rc $rc, $(echo "$end - $start" | bc) s from the nodes' start; $(cat $run/flood.log)"
grep -E "open files|awaiting|no node registered" $run/bs.log | head -3
