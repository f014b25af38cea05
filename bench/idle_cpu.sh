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
bin=build/release/ringwatch
[ -x "$bin" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }

work="$(mktemp -d)"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base_peer=27400
base_http=27600
seeds=""
for i in $(seq 1 "$agents"); do seeds+="\"127.0.0.1:$((base_peer + i))\","; done
seeds="[${seeds%,}]"
for i in $(seq 1 "$agents"); do
  cat >"$work/n$i.yaml" <<YAML
node:
  id: node-$i
cluster:
  seeds: $seeds
listen:
  peer: 127.0.0.1:$((base_peer + i))
  http: 127.0.0.1:$((base_http + i))
data_dir: $work/d$i
log:
  level: warn
YAML
  "$bin" agent -c "$work/n$i.yaml" 2>"$work/n$i.log" &
  pids+=($!)
done

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
curl -s "127.0.0.1:$((base_http + 1))/metrics" | grep -E '^ringwatch_heartbeats_(sent|received)_total' || true
