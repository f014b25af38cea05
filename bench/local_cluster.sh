# Sourced by the bench scripts: starts AGENTS agents of the Release build on
# 127.0.0.1, each seeded with all of them (so each sends to and watches the
# others), and stops them all when the calling script exits.
#   start_local_cluster AGENTS BASE_PEER_PORT BASE_HTTP_PORT [VOTERS=3]
# node-1..node-VOTERS bootstrap the Raft group.
# Sets: work (a temp dir, removed on exit), pids (one per agent; agent i
# listens on BASE_PEER_PORT+i and BASE_HTTP_PORT+i). CLUSTER_EXTRA, if set,
# is added to every config's `cluster:` map (e.g. "  restart_grace: 5s").
# restart_local_agent I starts agent i again (after it stopped).
bin="${RINGWATCH_BIN:-build/release/ringwatch}"
[ -x "$bin" ] || { echo "build first: scripts/build.sh release" >&2; exit 1; }
work="$(mktemp -d)"
pids=()
cleanup_local_cluster() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup_local_cluster EXIT

start_local_cluster() {
  local agents="$1" base_peer="$2" base_http="$3" voters="${4:-3}" seeds="" boot="" i
  for i in $(seq 1 "$agents"); do seeds+="\"127.0.0.1:$((base_peer + i))\","; done
  seeds="[${seeds%,}]"
  for i in $(seq 1 "$voters"); do boot+="node-$i,"; done
  boot="[${boot%,}]"
  for i in $(seq 1 "$agents"); do
    cat >"$work/n$i.yaml" <<YAML
node:
  id: node-$i
cluster:
  seeds: $seeds
  bootstrap_voters: $boot
${CLUSTER_EXTRA:-}
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
}

restart_local_agent() {
  local i="$1"
  "$bin" agent -c "$work/n$i.yaml" 2>>"$work/n$i.log" &
  pids[$((i - 1))]=$!
}
