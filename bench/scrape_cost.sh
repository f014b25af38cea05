#!/usr/bin/env bash
# Cost of one /metrics scrape of an agent in a 5-member cluster with every
# collector on: starts AGENTS agents on 127.0.0.1 (each seeded with all, so
# per-peer series exist), lets them settle, then times REQUESTS scrapes of the
# first agent with curl (time_total: connect + request + full response) and
# prints the median and p90, the response size, and promtool's findings.
#
#   bench/scrape_cost.sh [REQUESTS=300] [AGENTS=5]
#
# Uses the Release binary (scripts/build.sh release). Loopback only; every
# agent is stopped on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
requests="${1:-300}"
agents="${2:-5}"
. bench/local_cluster.sh
start_local_cluster "$agents" 28400 28600
sleep 3
url="http://127.0.0.1:28601/metrics"
for _ in $(seq 1 20); do curl -s -o /dev/null "$url"; done  # warm up
for _ in $(seq 1 "$requests"); do curl -s -o /dev/null -w '%{time_total}\n' "$url"; done | sort -n >"$work/times"
median=$(awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }' "$work/times")
p90=$(awk '{ v[NR] = $1 } END { print v[int(NR * 0.9)] }' "$work/times")
curl -s "$url" >"$work/metrics.txt"
echo "scrape of an agent in a $agents-member cluster, every collector on, $requests requests:"
awk -v m="$median" -v p="$p90" 'BEGIN { printf "median %.3f ms, p90 %.3f ms\n", m * 1000, p * 1000 }'
echo "response: $(wc -c <"$work/metrics.txt") bytes, $(grep -vc '^#' "$work/metrics.txt") samples"
if command -v promtool >/dev/null; then
  findings=$(promtool check metrics <"$work/metrics.txt" 2>&1 | grep -c . || true)
  echo "promtool check metrics: $findings finding(s)"
fi
