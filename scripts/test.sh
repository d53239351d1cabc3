#!/usr/bin/env bash
# Build fsp and run the whole test suite: scripts/test.sh [BUILD_DIR] [CMAKE_ARGS...]
# The second CI pass uses: scripts/test.sh build-asan -DFSP_SANITIZE=ON
#
# The integration suites run on each channel in FSP_TEST_CHANNELS (default
# "dev io_uring"): first on /dev/fuse, then again with every mount asking
# for io_uring (FSP_TEST_FS_OPTS=io_uring), with the fuse module parameter
# enable_uring set to Y for that pass and put back afterwards. The
# io_uring pass needs root and a kernel with FUSE over io_uring; without
# them it is skipped with a note.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
channels=${FSP_TEST_CHANNELS:-dev io_uring}
param=/sys/module/fuse/parameters/enable_uring
bash scripts/install-deps.sh
# The harness aborts stuck connections through /sys/fs/fuse/connections:
# make sure the fusectl file system is mounted there (root only).
if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/fs/fuse/connections; then
  mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
fi
cmake -S . -B "$build" -DFSP_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
cd "$build"
for channel in $channels; do
  case $channel in
  dev)
    # --timeout caps each test; the harness inside aborts stuck mounts itself.
    ctest --output-on-failure --timeout 1500 -j2
    ;;
  io_uring)
    if [ "$(id -u)" -ne 0 ] || [ ! -w "$param" ]; then
      echo "test.sh: io_uring pass skipped: needs root and $param"
      continue
    fi
    saved=$(cat "$param")
    trap 'echo "$saved" > "$param"' EXIT
    echo Y > "$param"
    echo "test.sh: integration suites again over io_uring ($param = Y)"
    FSP_TEST_FS_OPTS=io_uring ctest --output-on-failure --timeout 1500 -j2 -L integration
    echo "$saved" > "$param"
    trap - EXIT
    ;;
  *)
    echo "test.sh: unknown channel '$channel' in FSP_TEST_CHANNELS" >&2
    exit 2
    ;;
  esac
done
