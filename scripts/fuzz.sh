#!/usr/bin/env bash
# Builds the libFuzzer targets (the `fuzz` preset: clang, ASan + UBSan) and
# runs each for SECONDS, starting from its seed corpus in fuzz/corpus/
# (read-only: what a run finds goes to build/fuzz/corpus/, crashes and
# their inputs to build/fuzz/artifacts/). Fails if any target finds a crash,
# a leak, undefined behaviour or a timeout; prints each target's executions.
#
#   scripts/fuzz.sh [SECONDS=10] [TARGET...]     (targets: peer_frame heartbeat
#                                                raft_codec membership view config http)
#
# CI runs it with 10 s per target (scripts/test.sh). For a long local run:
#   scripts/fuzz.sh 600 peer_frame      # or -runs=N via FUZZ_ARGS
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(peer_frame heartbeat raft_codec membership view config http)

scripts/build.sh fuzz >/dev/null
mkdir -p build/fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  found="build/fuzz/corpus/$t"
  mkdir -p "$found"
  log="build/fuzz/$t.log"
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      "build/fuzz/fuzz/${t}_fuzz" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=65536 -print_final_stats=1 -artifact_prefix="build/fuzz/artifacts/$t-" \
      ${FUZZ_ARGS:-} "$found" "fuzz/corpus/$t" >"$log" 2>&1; then
    echo "fuzz: $t FAILED (log: $log)"
    tail -40 "$log"
    status=1
    continue
  fi
  runs=$(awk '/stat::number_of_executed_units/ { print $2 }' "$log")
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz: $t ok: $runs executions in ${seconds}s, $cov"
done
exit $status
