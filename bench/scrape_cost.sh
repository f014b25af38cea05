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

base_peer=28400
base_http=28600
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
sleep 3
url="http://127.0.0.1:$((base_http + 1))/metrics"
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
