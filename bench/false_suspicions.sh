#!/usr/bin/env bash
# False suspicions under CPU stress: starts AGENTS agents on loopback with
# the default configuration (a Raft group of 3, every agent a member watched
# by its observers at 100 ms heartbeats, phi 8), lets them settle, then runs
# HOGS busy-looping processes (2 per core by default, at the agents'
# priority) for SECONDS and counts what the agents raised — all false, since
# nobody dies: local suspicions, their rate per observer-peer pair per hour,
# stall resyncs, and committed MarkDead decisions (the soak of the
# membership issue: 600 s, one hog per core or more, must show 0).
#
#   bench/false_suspicions.sh [SECONDS=60] [AGENTS=5] [HOGS=2*nproc]
#
# Bounded: the hogs are killed after SECONDS, the agents on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
agents="${2:-5}"
hogs="${3:-$((2 * $(nproc)))}"
. bench/local_cluster.sh
start_local_cluster "$agents" 29400 29600
sleep 10

total() {
  local sum=0 i v
  for i in $(seq 1 "$agents"); do
    v=$(curl -s "127.0.0.1:$((29600 + i))/metrics" |
      awk '/^ringwatch_peer_suspicions_total/ { s += $2 } END { print s + 0 }')
    sum=$((sum + v))
  done
  echo "$sum"
}

before=$(total)
hog_pids=()
for _ in $(seq 1 "$hogs"); do
  (while :; do :; done) &
  hog_pids+=($!)
done
sleep "$seconds"
for p in "${hog_pids[@]}"; do kill "$p" 2>/dev/null || true; done
wait "${hog_pids[@]}" 2>/dev/null || true
sleep 1
after=$(total)
pairs=$((agents * (agents - 1)))
false_suspicions=$((after - before))
stalls=$(cat "$work"/n*.log | grep -c "observer stalled" || true)
echo "$agents agents ($pairs observer-peer pairs), $hogs CPU hogs on $(nproc) cores for ${seconds}s:"
awk -v n="$false_suspicions" -v p="$pairs" -v s="$seconds" \
  'BEGIN { printf "false suspicions: %d (%.2f per pair per hour)\n", n, n / p / s * 3600 }'
echo "observer stalls detected (and resynced): $stalls"
# Committed deaths of live members: the view is the same on every agent.
# (grep finds nothing when there is none: that is not a failure.)
dead=$(curl -s "127.0.0.1:29601/v1/events" | { grep -o '"kind":"dead"' || true; } | wc -l)
echo "MarkDead of a live member committed: $dead"
