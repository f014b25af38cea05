#!/usr/bin/env bash
# README command (1): install what is missing, build a Release, and run a local
# ringwatch agent on loopback. Ctrl-C stops it cleanly.
#
# Until the membership issue lands this is one agent (node-1); it will become
# a 3-agent cluster on 127.0.0.1.
set -euo pipefail
cd "$(dirname "$0")/.."
top="$(pwd)"

scripts/install-deps.sh
scripts/build.sh release --target ringwatch

demo="$top/build/demo"
mkdir -p "$demo/node-1"
cat >"$demo/node-1/ringwatch.yaml" <<YAML
# Written by scripts/demo.sh: a local agent on loopback.
node:
  id: node-1
  address: 127.0.0.1
cluster:
  name: demo
listen:
  peer: 127.0.0.1:7420
  http: 127.0.0.1:7421
data_dir: $demo/node-1/data
YAML

build/release/ringwatch check-config -c "$demo/node-1/ringwatch.yaml"
cat <<MSG

ringwatch demo: one agent on loopback. Open:
  http://127.0.0.1:7421/          index
  http://127.0.0.1:7421/metrics   Prometheus metrics
  http://127.0.0.1:7421/livez     liveness
  http://127.0.0.1:7421/readyz    readiness (503 until membership exists)
Config: $demo/node-1/ringwatch.yaml   Stop: Ctrl-C

MSG
exec build/release/ringwatch agent -c "$demo/node-1/ringwatch.yaml"
