#!/usr/bin/env bash
# deploy/prometheus: the alert rules and the example scrape config are valid,
# and every alert fires and stays silent where tests/deploy/alerts_test.yml
# says (promtool test rules).
#   tests/deploy/prometheus_rules_test.sh SOURCE_DIR
set -euo pipefail
src="$1"
if ! command -v promtool >/dev/null; then
  if [ "${CI:-}" = "true" ]; then echo "promtool is required under CI" >&2; exit 1; fi
  echo "SKIP: promtool not found (apt-get install prometheus)"
  exit 77
fi
promtool check rules "$src/deploy/prometheus/ringwatch-alerts.yml"
promtool check config "$src/deploy/prometheus/prometheus.yml"
# The HTTPS example names certificate files promtool wants to see: check a
# copy whose paths point at placeholder files.
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cp "$src/deploy/prometheus/ringwatch-alerts.yml" "$tmp/"
for f in ca.pem prometheus.pem prometheus.key; do : >"$tmp/$f"; done
sed "s|/etc/prometheus/ringwatch/|$tmp/|" "$src/deploy/prometheus/prometheus-https.yml" >"$tmp/prometheus-https.yml"
grep -q 'scheme: https' "$tmp/prometheus-https.yml"
promtool check config "$tmp/prometheus-https.yml"
cd "$src/tests/deploy"
promtool test rules alerts_test.yml
