#!/usr/bin/env bash
# Build fsp and run the whole test suite: scripts/test.sh [BUILD_DIR] [CMAKE_ARGS...]
# The second CI pass uses: scripts/test.sh build-asan -DFSP_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
bash scripts/install-deps.sh
# The harness aborts stuck connections through /sys/fs/fuse/connections:
# make sure the fusectl file system is mounted there (root only).
if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/fs/fuse/connections; then
  mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
fi
cmake -S . -B "$build" -DFSP_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
# --timeout caps each test; the harness inside aborts stuck mounts itself.
ctest --output-on-failure --timeout 1500 -j2
