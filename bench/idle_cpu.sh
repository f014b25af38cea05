#!/usr/bin/env bash
# Idle CPU of an agent that watches 10 peers at 100 ms heartbeats.
# Starts AGENTS agents on 127.0.0.1 (each seeded with all of them, so each
# sends to and watches AGENTS-1 peers), lets them settle for 5 s, then reads
# every agent's CPU time (utime + stime from /proc/PID/stat) over SECONDS and
# prints the median, minimum and maximum share of one core.
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

sleep 5  # settle: every agent hears every other
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
echo "agents: $agents (each watching $((agents - 1)) peers at 100 ms), measured over ${seconds}s"
echo "CPU per agent, % of one core: median $median, min $(echo "$sorted" | head -1), max $(echo "$sorted" | tail -1)"
curl -s "127.0.0.1:27601/metrics" | grep -E '^ringwatch_heartbeats_(sent|received)_total' || true
