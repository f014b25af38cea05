#!/usr/bin/env bash
# The .deb: builds it with CPack from BUILD_DIR into a temp directory, then
# checks its files and modes, control data (Depends, conffiles, maintainer
# scripts), that the packaged binary runs, and a dry run of the maintainer
# scripts with stubbed system commands (nothing on this machine changes).
#   tests/deploy/deb_package_test.sh BUILD_DIR
set -euo pipefail
build="$1"
for tool in cpack dpkg-deb dpkg-shlibdeps; do
  if ! command -v "$tool" >/dev/null; then
    if [ "${CI:-}" = "true" ]; then echo "$tool is required under CI" >&2; exit 1; fi
    echo "SKIP: $tool not found (apt-get install cmake dpkg-dev)"
    exit 77
  fi
done
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$work/out" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log" >&2; fail "cpack"; }
deb="$(ls "$work"/out/ringwatch_*_amd64.deb 2>/dev/null | head -1)"
[ -n "$deb" ] || fail "no .deb produced"
echo "package: $(basename "$deb")"

# Files and modes.
dpkg-deb -c "$deb" >"$work/contents"
expect_file() {  # MODE PATH
  grep -qE "^$1 root/root +[0-9]+ [0-9-]+ [0-9:]+ \\.$2\$" "$work/contents" || fail "missing $2 with mode $1"
}
expect_file '-rwxr-xr-x' /usr/bin/ringwatch
expect_file '-rw-r--r--' /usr/lib/systemd/system/ringwatch.service
expect_file '-rw-r-----' /etc/ringwatch/ringwatch.yaml
expect_file '-rw-r--r--' /etc/default/ringwatch
expect_file '-rw-r--r--' /usr/share/doc/ringwatch/README.md
expect_file '-rw-r--r--' /usr/share/ringwatch/prometheus/ringwatch-alerts.yml
expect_file '-rw-r--r--' /usr/share/ringwatch/prometheus/prometheus.yml
expect_file '-rw-r--r--' /usr/share/ringwatch/prometheus/prometheus-https.yml
expect_file '-rw-r--r--' /usr/share/ringwatch/dashboards/ringwatch-host.json
expect_file '-rw-r--r--' /usr/share/ringwatch/dashboards/ringwatch-cluster.json
expect_file '-rw-r--r--' /usr/share/ringwatch/grafana/provisioning.yml

# Control data.
dpkg-deb -f "$deb" Depends >"$work/depends"
for dep in adduser libyaml-cpp0.7 libprometheus-cpp-core1.0 libsodium23 libssl3; do
  grep -q "$dep" "$work/depends" || fail "Depends lacks $dep: $(cat "$work/depends")"
done
# sd_notify is spoken directly; the agent does not link libsystemd.
! grep -q libsystemd "$work/depends" || fail "Depends names libsystemd: $(cat "$work/depends")"
dpkg-deb -e "$deb" "$work/control"
grep -qx /etc/ringwatch/ringwatch.yaml "$work/control/conffiles" || fail "config is not a conffile"
grep -qx /etc/default/ringwatch "$work/control/conffiles" || fail "/etc/default/ringwatch is not a conffile"
for script in postinst prerm postrm; do
  [ -x "$work/control/$script" ] || fail "$script missing or not executable"
  sh -n "$work/control/$script" || fail "$script: syntax"
done

# The packaged files themselves.
dpkg-deb -x "$deb" "$work/root"
"$work/root/usr/bin/ringwatch" version | grep -q '^ringwatch ' || fail "packaged binary does not run"
# The default config names the keyring postinst makes.
"$work/root/usr/bin/ringwatch" keygen >"$work/root/etc/ringwatch/keyring"
"$work/root/usr/bin/ringwatch" check-config -c "$work/root/etc/ringwatch/ringwatch.yaml" >/dev/null ||
  fail "packaged default config does not validate"
rm "$work/root/etc/ringwatch/keyring"
grep -q '^ExecStart=/usr/bin/ringwatch agent -c /etc/ringwatch/ringwatch.yaml' \
  "$work/root/usr/lib/systemd/system/ringwatch.service" || fail "unit ExecStart"

# Maintainer scripts, dry run: system commands are stubs that log their
# arguments; getent reports no ringwatch user yet.
mkdir -p "$work/stubs"
for cmd in adduser deluser install chown chmod systemctl rm ringwatch; do
  printf '#!/bin/sh\necho "%s $*" >>"%s"\n' "$cmd" "$work/calls" >"$work/stubs/$cmd"
done
printf '#!/bin/sh\nexit 2\n' >"$work/stubs/getent"
chmod +x "$work"/stubs/*
mkdir -p "$work/dpkgroot/etc/ringwatch"
PATH="$work/stubs:/usr/bin:/bin" DPKG_ROOT="$work/dpkgroot" sh "$work/control/postinst" configure "" ||
  fail "postinst failed"
expect_call() { grep -qF -- "$1" "$work/calls" || { cat "$work/calls" >&2; fail "postinst did not run: $1"; }; }
expect_call "ringwatch keygen"
expect_call "chmod 0640 $work/dpkgroot/etc/ringwatch/keyring"
expect_call() { grep -qF -- "$1" "$work/calls" || { cat "$work/calls" >&2; fail "postinst did not run: $1"; }; }
expect_call "adduser --system --group --home /var/lib/ringwatch --no-create-home --gecos ringwatch agent ringwatch"
expect_call "install -d -m 0750 -o ringwatch -g ringwatch /var/lib/ringwatch"
expect_call "chown root:ringwatch /etc/ringwatch /etc/ringwatch/ringwatch.yaml"
expect_call "chmod 0640 /etc/ringwatch/ringwatch.yaml"
if [ -d /run/systemd/system ]; then
  # An upgrade is a planned restart (the ring stays); a removal leaves first.
  : >"$work/calls"
  PATH="$work/stubs:/usr/bin:/bin" sh "$work/control/prerm" upgrade || fail "prerm upgrade failed"
  ! grep -q "ringwatch leave" "$work/calls" || fail "prerm upgrade made the agent leave"
  PATH="$work/stubs:/usr/bin:/bin" sh "$work/control/prerm" remove || fail "prerm remove failed"
  expect_call "ringwatch leave"
  expect_call "systemctl stop ringwatch.service"
else
  echo "note: no /run/systemd/system here; prerm's systemd branch not exercised"
fi
: >"$work/calls"
PATH="$work/stubs:/usr/bin:/bin" sh "$work/control/postrm" purge || fail "postrm failed"
expect_call "rm -rf /var/lib/ringwatch"
echo "ok"
