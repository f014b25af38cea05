#!/usr/bin/env bash
# A slow disk under the detector: 5 agents on 127.0.0.1 (node-1..3 bootstrap
# the Raft group); node-2, a voter, restarts with every Raft save made
# DELAY_MS slower (fault injection, RINGWATCH_FAULT_PERSIST_DELAY_MS), then
# for SECONDS node-4 and node-5 restart in turn every 3 s, so the log keeps
# growing and node-2 keeps saving. Prints node-2's save time (mean, from
# ringwatch_raft_persist_seconds), how often any agent suspected node-2, the
# deaths committed, and whether node-2 kept up with the commits.
#
#   bench/slow_disk.sh [SECONDS=60] [DELAY_MS=500]
#
# Uses the Release binary (RINGWATCH_BIN overrides). Loopback only; every
# agent is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-60}"
delay="${2:-500}"
. bench/local_cluster.sh
base_peer=27900 base_http=28000
start_local_cluster 5 "$base_peer" "$base_http"
http() { curl -s --max-time 2 "127.0.0.1:$((base_http + $1))$2" || true; }
metric() {  # metric AGENT SERIES: its value, or 0
  http "$1" /metrics | awk -v s="$2" '$1 == s { print $2; found = 1 } END { if (!found) print 0 }'
}
sleep 8
kill -TERM "${pids[1]}"
wait "${pids[1]}" 2>/dev/null || true
RINGWATCH_FAULT_PERSIST_DELAY_MS="$delay" restart_local_agent 2
sleep 5
seq_before=$(http 1 /v1/events | grep -o '"seq":[0-9]*' | tail -1 | cut -d: -f2)
end=$((SECONDS + seconds))
turn=4
while [ "$SECONDS" -lt "$end" ]; do
  kill -TERM "${pids[$((turn - 1))]}"
  wait "${pids[$((turn - 1))]}" 2>/dev/null || true
  restart_local_agent "$turn"
  turn=$((turn == 4 ? 5 : 4))
  sleep 3
done
sleep 3
suspicions=0
for i in 1 3 4 5; do
  s=$(metric "$i" 'ringwatch_peer_suspicions_total{peer="node-2"}')
  suspicions=$(awk -v a="$suspicions" -v b="$s" 'BEGIN { print a + b }')
done
count=$(metric 2 ringwatch_raft_persist_seconds_count)
sum=$(metric 2 ringwatch_raft_persist_seconds_sum)
commit() { http "$1" /v1/status | sed -n 's/.*"commit_index":\([0-9]*\).*/\1/p'; }
echo "node-2 saves: $count, mean $(awk -v s="$sum" -v c="$count" 'BEGIN { printf "%.3f", c ? s / c : 0 }') s (injected delay ${delay} ms)"
echo "suspicions of node-2 by the other agents over ${seconds} s of churn: $suspicions"
echo "deaths committed: $(http 1 "/v1/events?since=$seq_before" | grep -o '"kind":"dead"' | wc -l)"
echo "commit index: node-1 $(commit 1), node-2 $(commit 2)"
