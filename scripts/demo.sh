#!/usr/bin/env bash
# README command (1): install what is missing, build a Release, and run a
# local 3-agent ringwatch cluster on loopback (node-1..node-3, one Raft group
# of three voters). Ctrl-C stops all three cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
top="$(pwd)"

scripts/install-deps.sh
scripts/build.sh release --target ringwatch

demo="$top/build/demo"
seeds='["127.0.0.1:7420", "127.0.0.1:7422", "127.0.0.1:7424"]'
pids=()
stop() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop EXIT INT TERM

for i in 1 2 3; do
  peer=$((7418 + 2 * i))
  http=$((peer + 1))
  mkdir -p "$demo/node-$i"
  cat >"$demo/node-$i/ringwatch.yaml" <<YAML
# Written by scripts/demo.sh: one of three local agents on loopback.
node:
  id: node-$i
  address: 127.0.0.1
cluster:
  name: demo
  seeds: $seeds
  bootstrap_voters: [node-1, node-2, node-3]
listen:
  peer: 127.0.0.1:$peer
  http: 127.0.0.1:$http
data_dir: $demo/node-$i/data
ring:
  file: $demo/node-$i/ring.json
YAML
  build/release/ringwatch check-config -c "$demo/node-$i/ringwatch.yaml" >/dev/null
  build/release/ringwatch agent -c "$demo/node-$i/ringwatch.yaml" 2>"$demo/node-$i/agent.log" &
  pids+=($!)
done

cat <<MSG

ringwatch demo: three agents on loopback (logs in $demo/node-N/agent.log).
  node-1  http://127.0.0.1:7421/   node-2  http://127.0.0.1:7423/   node-3  http://127.0.0.1:7425/
Try:
  curl -s 127.0.0.1:7421/v1/status     # Raft role, term, leader (elected within ~2 s)
  curl -s 127.0.0.1:7421/v1/members    # what node-1 sees of its peers (phi, RTT, health)
  curl -s 127.0.0.1:7421/metrics       # Prometheus metrics
  build/release/ringwatch ring         # the ring every agent derived (also $demo/node-N/ring.json)
  build/release/ringwatch lookup user:42   # which members own a key
  kill -9 <pid of the leader>          # the others elect a new leader in about half a second
Agent pids: ${pids[*]}    Stop: Ctrl-C

MSG
wait
