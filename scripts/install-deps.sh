#!/usr/bin/env bash
# Install the Debian packages fsp needs to build, run and test.
# Safe to run again: apt-get skips what is already there.
#
# Exit status: 0 when every package is installed; 1, with a message, when
# one is missing and cannot be installed (not root, or apt-get failed).
set -euo pipefail
packages=(build-essential cmake pkg-config fuse3 attr acl rsync tar liburing-dev libsqlite3-dev libpq-dev postgresql util-linux procps python3
  meson ninja-build # meson, ninja-build: bench/peers builds libfuse
  # tests/xfstests builds and runs xfstests:
  autoconf automake libtool make gcc xfslibs-dev uuid-dev libattr1-dev libacl1-dev
  libaio-dev libgdbm-dev xfsprogs e2fsprogs bc psmisc gawk)
missing=()
for p in "${packages[@]}"; do
  # Not `dpkg-query | grep -q`: under pipefail, grep leaving early could
  # make a package that is there count as missing.
  status=$(dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null || true)
  [[ $status == *"install ok installed"* ]] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps: need root to install: ${missing[*]} (run with sudo)" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get update -qq; then
    echo "install-deps: apt-get update failed; needed: ${missing[*]}" >&2
    exit 1
  fi
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null; then
    echo "install-deps: apt-get install failed: ${missing[*]}" >&2
    exit 1
  fi
  echo "install-deps: installed ${missing[*]}"
fi
