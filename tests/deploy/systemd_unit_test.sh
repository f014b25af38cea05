#!/usr/bin/env bash
# deploy/systemd/ringwatch.service: `systemd-analyze verify` is clean and
# `systemd-analyze security --offline=true` rates the exposure 2.0 or lower.
#   tests/deploy/systemd_unit_test.sh UNIT BINARY
# verify runs on a copy whose ExecStart points at the built BINARY (verify
# checks that the executable exists); every other line is the shipped one.
set -euo pipefail
unit="$1"
binary="$2"
if ! command -v systemd-analyze >/dev/null; then
  if [ "${CI:-}" = "true" ]; then echo "systemd-analyze is required under CI" >&2; exit 1; fi
  echo "SKIP: systemd-analyze not found (apt-get install systemd)"
  exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

sed "s|/usr/bin/ringwatch|$binary|" "$unit" >"$work/ringwatch.service"
out="$(systemd-analyze verify "$work/ringwatch.service" 2>&1)"
if [ -n "$out" ]; then
  echo "systemd-analyze verify reported:" >&2
  echo "$out" >&2
  exit 1
fi

report="$(systemd-analyze security --offline=true "$unit" 2>&1)"
score="$(echo "$report" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')"
if [ -z "$score" ]; then
  echo "no exposure level in:" >&2
  echo "$report" >&2
  exit 1
fi
echo "exposure level: $score"
awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || { echo "exposure $score is above 2.0" >&2; exit 1; }
