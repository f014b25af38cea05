#!/usr/bin/env bash
# Idle footprint of an agent in a running cluster: starts AGENTS agents on
# 127.0.0.1 with the default configuration (node-1..3 bootstrap the Raft
# group; every agent joins the committed view and watches its K=5 observer
# subjects at 100 ms heartbeats), lets them settle for 10 s, then reads every
# agent's CPU time (utime + stime from /proc/PID/stat) over SECONDS and its
# resident memory (VmRSS; RssAnon: the part not shared with other processes;
# Pss: shared pages divided among the processes that map them) at the end,
# and prints median, minimum and maximum.
#
#   bench/idle_cpu.sh [SECONDS=60] [AGENTS=11]
#
# Uses the Release binary (scripts/build.sh release). Loopback only; every
# agent is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
agents="${2:-11}"
. bench/local_cluster.sh
start_local_cluster "$agents" 27400 27600

sleep 10  # settle: every agent has joined and hears its observers
ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
declare -A before
for p in "${pids[@]}"; do before[$p]=$(cpu "$p"); done
sleep "$seconds"
results=()
for p in "${pids[@]}"; do
  after=$(cpu "$p")
  results+=("$(awk -v a="$after" -v b="${before[$p]}" -v t="$ticks" -v s="$seconds" 'BEGIN { printf "%.3f", (a - b) / t / s * 100 }')")
done
sorted=$(printf '%s\n' "${results[@]}" | sort -n)
median=$(echo "$sorted" | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "agents: $agents (Raft group of 3, K=5 observers, 100 ms heartbeats), measured over ${seconds}s"
echo "CPU per agent, % of one core: median $median, min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
for field in VmRSS RssAnon Pss; do
  # Pss (proportional: shared pages divided among the processes that map
  # them) is in smaps_rollup; the others in status.
  file=status
  [ "$field" = Pss ] && file=smaps_rollup
  kb=$(for p in "${pids[@]}"; do awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/$file"; done | sort -n)
  echo "$field per agent, KiB: median $(echo "$kb" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'), min $(echo "$kb" | head -1), max $(echo "$kb" | tail -1)"
done
curl -s "127.0.0.1:27601/v1/status"; echo
curl -s "127.0.0.1:27601/metrics" | grep -E '^ringwatch_heartbeats_(sent|received)_total' || true
