#!/usr/bin/env bash
# README command (2), and what CI runs (.ci/run): install what is missing,
# build, and run the whole test suite:
#   1. Release build, all ctest tests (unit + multi-process; promtool lint);
#   2. clang-format check of every C++ file;
#   3. ASan + UBSan build, all ctest tests again (Raft simulation: 200 seeds);
#   4. the libFuzzer targets (clang), each for 10 s from its seed corpus.
# One build tree per configuration, ccache when present. Under CI=true no test
# may skip for want of a tool.
set -euo pipefail
cd "$(dirname "$0")/.."

jobs="$(nproc)"
start=$(date +%s)
step() { echo; echo "=== $* ($(( $(date +%s) - start ))s)"; }

step "dependencies"
scripts/install-deps.sh

step "release build"
scripts/build.sh release

step "release tests"
ctest --test-dir build/release --output-on-failure -j "$jobs" --timeout 300

step "clang-format"
scripts/check-format.sh

step "asan+ubsan build"
scripts/build.sh asan

step "asan+ubsan tests"
# The Raft simulation runs its full 2000 seeds in the release pass; under the
# sanitizers (about 30x slower) a 200-seed slice keeps this pass in minutes.
# The 1000-member agent simulations (~4 minutes here under ASan, the same
# code paths as the 5-member runs, which keep their seeds) run in the
# release pass only.
RINGWATCH_SIM_SEEDS=200 RINGWATCH_AGENT_SIM_LARGE_SEEDS=0 \
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --test-dir build/asan --output-on-failure -j "$jobs" --timeout 600

step "fuzz (libFuzzer, 10 s per target)"
scripts/fuzz.sh 10

step "all tests passed"
