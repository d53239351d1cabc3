#!/usr/bin/env bash
# Build fsp and run the whole test suite: scripts/test.sh [BUILD_DIR] [CMAKE_ARGS...]
# The second CI pass uses: scripts/test.sh build-asan -DFSP_SANITIZE=ON
#
# The integration suites run on each channel in FSP_TEST_CHANNELS (default
# "dev io_uring"; FSP_TEST_EXCLUDE_LABELS leaves labels out, as -LE does):
# first on /dev/fuse, then again with every mount asking
# for io_uring (FSP_TEST_FS_OPTS=io_uring), with the fuse module parameter
# enable_uring set to Y for that pass and put back afterwards. The
# io_uring pass needs root and a kernel with FUSE over io_uring; without
# them it is skipped with a note.
#
# Exit status: 0 when everything built and every test passed; otherwise
# that of the step that failed (ctest's 8 for a failed test), after a line
# "test.sh: FAILED: STEP (exit status N)" on stderr. The clean-up puts
# enable_uring back and never changes the exit status (a failure to put it
# back is a failure of its own).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
shift || true
channels=${FSP_TEST_CHANNELS:-dev io_uring}
# Labels (a ctest -LE regular expression) left out of every pass, e.g. pg.
exclude=${FSP_TEST_EXCLUDE_LABELS:-}
param=/sys/module/fuse/parameters/enable_uring
saved=""
step="starting"

# Puts enable_uring back if this script changed it; 1 if it cannot.
restore_param() {
  [ -n "$saved" ] || return 0
  if ! echo "$saved" > "$param"; then
    echo "test.sh: cannot put $param back to $saved" >&2
    saved=""
    return 1
  fi
  saved=""
}
cleanup() {
  local status=$1
  set +e
  restore_param || [ "$status" -ne 0 ] || status=1
  [ "$status" -eq 0 ] ||
    echo "test.sh: FAILED: $step (exit status $status)" >&2
  exit "$status"
}
trap 'cleanup $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step="installing the Debian packages (scripts/install-deps.sh)"
bash scripts/install-deps.sh
# The harness aborts stuck connections through /sys/fs/fuse/connections:
# make sure the fusectl file system is mounted there (root only).
if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/fs/fuse/connections; then
  mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null || true
fi
step="configuring $build (cmake -DFSP_WERROR=ON $*)"
cmake -S . -B "$build" -DFSP_WERROR=ON "$@" >/dev/null
step="building $build"
cmake --build "$build" -j"$(nproc)"
cd "$build"
for channel in $channels; do
  case $channel in
  dev)
    # --timeout caps each test; the harness inside aborts stuck mounts itself.
    step="ctest in $build on /dev/fuse"
    ctest --output-on-failure --timeout 1500 -j2 ${exclude:+-LE "$exclude"}
    ;;
  io_uring)
    if [ "$(id -u)" -ne 0 ] || [ ! -w "$param" ]; then
      echo "test.sh: io_uring pass skipped: needs root and $param"
      continue
    fi
    step="setting $param to Y"
    saved=$(cat "$param")
    echo Y > "$param"
    echo "test.sh: integration suites again over io_uring ($param = Y)"
    # The PostgreSQL suites test sqlfs's backend, which does not depend on
    # the channel: they run once, on /dev/fuse.
    step="ctest -L integration in $build over io_uring"
    FSP_TEST_FS_OPTS=io_uring ctest --output-on-failure --timeout 1500 -j2 \
      -L integration -LE "pg${exclude:+|$exclude}"
    step="putting $param back"
    restore_param
    ;;
  *)
    step="reading FSP_TEST_CHANNELS: unknown channel '$channel'"
    exit 2
    ;;
  esac
done
