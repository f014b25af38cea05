#!/usr/bin/env bash
# What idle HTTP clients cost an agent, and whether a slow POST holds the
# HTTP server:
#  1. Idle blocking queries: starts a 3-agent cluster on 127.0.0.1, lets it
#     settle, then alternates ROUNDS times between SECONDS with no client and
#     SECONDS with WATCHERS blocking queries parked on node-1
#     (GET /v1/members?index=<current>&wait=SECONDS+4s, Consul-style watches as
#     `ringwatch events --follow`, Prometheus-style pollers or a dashboard
#     keep open), reading node-1's CPU time (utime + stime, /proc/PID/stat)
#     over each period. Prints the medians and their difference, in % of
#     one core.
#  2. /livez during a leave: node-3 is restarted with every Raft save slowed
#     to 300 ms (RINGWATCH_FAULT_PERSIST_DELAY_MS), asked to leave
#     (POST /v1/leave), and /livez is timed (curl) while the leave is
#     pending. Prints the leave's duration and the /livez times.
#
#   bench/http_watchers.sh [SECONDS=20] [WATCHERS=200] [ROUNDS=3]
#
# Side by side: run it once with RINGWATCH_BIN=<older build>/ringwatch and
# once without (the Release build). Loopback only; every agent and every
# connection is closed on exit; every loop is bounded.
set -euo pipefail
trap '' PIPE  # a connection the agent refused must not end the script
cd "$(dirname "$0")/.."
seconds="${1:-20}"
watchers="${2:-200}"
rounds="${3:-3}"
. bench/local_cluster.sh
start_local_cluster 3 27700 27800
http1=27801
http3=27803

ready() { curl -sf "127.0.0.1:$1/readyz" >/dev/null 2>&1; }
for _ in $(seq 1 300); do
  ready $http1 && ready 27802 && ready $http3 && break
  sleep 0.1
done
sleep 5  # settle: every agent hears its observers

ticks=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# CPU of node-1 over `seconds`, in % of one core.
measure() {
  local before after
  before=$(cpu "${pids[0]}")
  sleep "$seconds"
  after=$(cpu "${pids[0]}")
  awk -v a="$after" -v b="$before" -v t="$ticks" -v s="$seconds" 'BEGIN { printf "%.3f", (a - b) / t / s * 100 }'
}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

index=$(curl -sfi "127.0.0.1:$http1/v1/members" | awk -F': ' 'tolower($1) == "x-ringwatch-index" { print $2 }' | tr -d '\r')
[ -n "$index" ] || { echo "node-1 sent no X-Ringwatch-Index" >&2; exit 1; }
idle=()
busy=()
fds=()
for round in $(seq 1 "$rounds"); do
  idle+=("$(measure)")
  fds=()
  for _ in $(seq 1 "$watchers"); do
    exec {fd}<>/dev/tcp/127.0.0.1/$http1
    printf 'GET /v1/members?index=%s&wait=%ss HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n' "$index" "$((seconds + 4))" >&"$fd" || true
    fds+=("$fd")
  done
  sleep 2  # every query is parked
  parked=$(curl -sf "127.0.0.1:$http1/metrics" | awk '$1 == "ringwatch_http_waiters" { print $2 }')
  busy+=("$(measure)")
  for fd in "${fds[@]}"; do exec {fd}>&-; done
  echo "round $round: no watchers ${idle[-1]} %, $watchers watchers ${busy[-1]} % (ringwatch_http_waiters: ${parked:-not exported})"
  sleep 4  # every wait has ended, even where the agent did not see its client leave
done
mi=$(printf '%s\n' "${idle[@]}" | median)
mb=$(printf '%s\n' "${busy[@]}" | median)
echo "binary: $bin"
echo "node-1 CPU, % of one core, median of $rounds x ${seconds}s: no watchers $mi, $watchers watchers $mb, difference $(awk -v a="$mb" -v b="$mi" 'BEGIN { printf "%.3f", a - b }')"

# 2. /livez while node-3 leaves with a slow disk.
kill -TERM "${pids[2]}"
wait "${pids[2]}" 2>/dev/null || true
RINGWATCH_FAULT_PERSIST_DELAY_MS=300 restart_local_agent 3
for _ in $(seq 1 300); do ready $http3 && break; sleep 0.1; done
sleep 3
start=$(date +%s.%N)
curl -s -o "$work/leave.out" -X POST "127.0.0.1:$http3/v1/leave" &
leave_pid=$!
times=()
for _ in $(seq 1 100); do
  kill -0 "$leave_pid" 2>/dev/null || break
  t=$(curl -s -o /dev/null -m 15 -w '%{time_total}' "127.0.0.1:$http3/livez" || echo timeout)
  # Only samples taken while the leave was still pending count.
  kill -0 "$leave_pid" 2>/dev/null && times+=("$t")
  sleep 0.02
done
wait "$leave_pid" || true
end=$(date +%s.%N)
echo "leave of node-3 (300 ms per Raft save): $(awk -v a="$end" -v b="$start" 'BEGIN { printf "%.2f", a - b }') s, answer: $(cat "$work/leave.out")"
if [ "${#times[@]}" -eq 0 ]; then
  echo "/livez while the leave was pending: no sample completed before the leave's answer (the server was held)"
else
  sorted=$(printf '%s\n' "${times[@]}" | sort -n)
  echo "/livez while the leave was pending: ${#times[@]} samples, median $(echo "$sorted" | median) s, max $(echo "$sorted" | tail -1) s"
fi
