#!/usr/bin/env bash
# Installs, with apt, whatever ringwatch needs to build, test and run that is
# missing on this Debian 12 machine. Installs nothing when all is present.
# Uses sudo when not run as root.
set -euo pipefail

packages=(
  # toolchain (clang and its libFuzzer runtime: the fuzz preset)
  build-essential cmake ninja-build ccache pkg-config git curl clang-format clang libclang-rt-14-dev
  # libraries (Debian 12 versions: Boost 1.74, prometheus-cpp 1.0, yaml-cpp 0.7, spdlog 1.10)
  libboost-dev prometheus-cpp-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libssl-dev libsodium-dev libxxhash-dev libcli11-dev
  nlohmann-json3-dev
  # promtool for the metrics lint (the package also brings a Prometheus server)
  prometheus
  # systemd-analyze (unit verification and hardening score); dpkg-dev for the .deb
  systemd dpkg-dev
  # the network-namespace tests (partitions and packet loss with iptables)
  iproute2 iptables
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
