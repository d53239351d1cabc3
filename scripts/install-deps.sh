#!/usr/bin/env bash
# Install the Debian packages fsp needs to build, run and test.
# Safe to run again: apt-get skips what is already there.
set -euo pipefail
packages=(build-essential cmake pkg-config fuse3 attr liburing-dev util-linux procps python3)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]} (run with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
  echo "install-deps: installed ${missing[*]}"
fi
