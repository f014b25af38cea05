#!/usr/bin/env bash
# A rolling restart, as a package upgrade does it: AGENTS agents on
# 127.0.0.1 (node-1..3 bootstrap the Raft group); one after the other each
# gets SIGTERM, exits, and starts again PAUSE seconds later; the next one
# goes once the restarted agent is alive in every view and ready. Prints,
# per agent, the time from SIGTERM until it is alive in every view again,
# the total, the ring version before and after, and the membership events
# the restart committed, by kind.
#
#   bench/rolling_restart.sh [AGENTS=5] [PAUSE=1] [MODE=restart|leave]
#
# MODE=leave sets cluster.leave_on_terminate: true (SIGTERM leaves and the
# agent joins again: what every restart did before planned restarts).
# Uses the Release binary (RINGWATCH_BIN overrides). Loopback only; every
# agent is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${1:-5}"
pause="${2:-1}"
mode="${3:-restart}"
CLUSTER_EXTRA=""
[ "$mode" = leave ] && CLUSTER_EXTRA="  leave_on_terminate: true"
. bench/local_cluster.sh
base_peer=27700 base_http=27800
start_local_cluster "$agents" "$base_peer" "$base_http"

now() { date +%s.%N; }
http() { curl -s --max-time 2 "127.0.0.1:$((base_http + $1))$2" || true; }
# The state of member node-$2 in the view of agent $1 ("" if unknown).
state_in() {
  "$bin" members --http-addr "127.0.0.1:$((base_http + $1))" 2>/dev/null |
    awk -v id="node-$2" '$1 == id { print $2 }'
}
alive_everywhere() {
  local i
  for i in $(seq 1 "$agents"); do [ "$(state_in "$i" "$1")" = alive ] || return 1; done
}
ring_version() { http 1 /v1/status | sed -n 's/.*"ring":{[^}]*"version":\([0-9]*\).*/\1/p'; }
wait_until() {  # wait_until SECONDS COMMAND...: polls every 20 ms
  local deadline
  deadline=$(awk -v n="$(now)" -v s="$1" 'BEGIN { printf "%.3f", n + s }')
  shift
  until "$@"; do
    if awk -v n="$(now)" -v d="$deadline" 'BEGIN { exit !(n > d) }'; then return 1; fi
    sleep 0.02
  done
}
all_alive() { local j; for j in $(seq 1 "$agents"); do alive_everywhere "$j" || return 1; done; }

wait_until 60 all_alive || { echo "the cluster did not form" >&2; exit 1; }
sleep 2
before=$(ring_version)
seq_before=$(http 1 /v1/events | grep -o '"seq":[0-9]*' | tail -1 | cut -d: -f2)
t_all=$(now)
for i in $(seq 1 "$agents"); do
  t0=$(now)
  kill -TERM "${pids[$((i - 1))]}"
  wait "${pids[$((i - 1))]}" 2>/dev/null || true
  sleep "$pause"
  restart_local_agent "$i"
  wait_until 60 alive_everywhere "$i" || { echo "node-$i did not come back" >&2; exit 1; }
  wait_until 30 sh -c "curl -sf --max-time 1 127.0.0.1:$((base_http + i))/readyz >/dev/null"
  printf 'node-%s: SIGTERM to alive in every view %.2f s (pause %s s)\n' "$i" \
    "$(awk -v a="$(now)" -v b="$t0" 'BEGIN { print a - b }')" "$pause"
done
sleep 2
printf 'rolling restart of %s agents (mode %s): %.2f s in all\n' "$agents" "$mode" \
  "$(awk -v a="$(now)" -v b="$t_all" 'BEGIN { print a - b }')"
echo "ring version before $before, after $(ring_version)"
echo "events committed by the restarts:"
http 1 "/v1/events?since=$seq_before" | grep -o '"kind":"[a-z_]*"' | cut -d'"' -f4 | sort | uniq -c |
  sed 's/^/  /'
