#!/usr/bin/env bash
# A one-node Slurm cluster on this machine, for the tests (and for trying launch/slurm/ out):
#   launch/slurm/local-cluster.sh start DIR    configure and start munged, slurmctld and slurmd; prints SLURM_CONF=…
#   launch/slurm/local-cluster.sh stop DIR     stop them
# Needs root and Debian's slurm-wlm and munge (launch/test.sh installs them). Everything the cluster
# writes (configuration, state, spool, logs) stays in DIR; the node is this host, with its CPUs
# declared 16 so a base station and its edge nodes fit beside each other (oversubscribed).
set -euo pipefail
action=${1:?start or stop}; dir=${2:?state directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
conf=$dir/slurm.conf
host=$(hostname -s)

# A daemon started from here must hold none of the caller's file descriptors: a test runner waits
# for the end of its pipes (and Foundation's Process for a socket it hands the child), so a daemon
# that kept one would hang it for ever. The daemon gets /dev/null for its stdio and nothing else.
daemon() {
  (
    for fd in /proc/$BASHPID/fd/*; do
      fd=${fd##*/}
      (( fd > 2 )) && eval "exec $fd>&-"
    done
    exec "$@" </dev/null >/dev/null 2>&1
  )
}

stop() {
  for d in slurmd slurmctld; do
    [[ -f $dir/$d.pid ]] && kill "$(cat "$dir/$d.pid")" 2>/dev/null || true
  done
  sleep 1
}

case $action in
  stop) stop; exit 0 ;;
  start) ;;
  *) echo "local-cluster: start or stop" >&2; exit 2 ;;
esac
[[ $(id -u) -eq 0 ]] || { echo "local-cluster: needs root" >&2; exit 1; }
for tool in munged slurmctld slurmd sinfo; do command -v "$tool" >/dev/null || { echo "local-cluster: $tool is missing (Debian's slurm-wlm, munge)" >&2; exit 1; }; done

# munge: one key, one daemon (shared by every cluster on this host).
if ! munge -n >/dev/null 2>&1; then
  [[ -s /etc/munge/munge.key ]] || { mungekey --create --force 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; }
  chown munge:munge /etc/munge/munge.key; chmod 600 /etc/munge/munge.key
  mkdir -p /run/munge /var/log/munge /var/lib/munge; chown munge:munge /run/munge /var/log/munge /var/lib/munge
  daemon runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.1; done
fi

ports=$((6900 + RANDOM % 500))
mkdir -p "$dir/state" "$dir/spool"
cat > "$conf" <<CONF
ClusterName=airfl
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SlurmdParameters=config_overrides
SlurmctldPort=$ports
SlurmdPort=$((ports + 1))
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
NodeName=$host CPUs=16 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:4
CONF
export SLURM_CONF=$conf
daemon slurmctld -f "$conf"
daemon slurmd -f "$conf"
for _ in $(seq 100); do
  state=$(sinfo -h -o %T 2>/dev/null | head -n 1 || true)
  [[ $state == idle* ]] && { echo "SLURM_CONF=$conf"; exit 0; }
  sleep 0.2
done
echo "local-cluster: the node did not come up (state '${state:-none}'); see $dir/slurmctld.log and $dir/slurmd.log" >&2
stop
exit 1
