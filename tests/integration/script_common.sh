# script_common.sh - what the shell tests of this folder share (sourced,
# not run). Set first: NAME (the prefix of every line they print), FS
# (the file system's name), DAEMON (its program), MNT (the mount point)
# and LOG (the daemon's output).

FAILED=0
DAEMON_PID=

say() { echo "$NAME: $*"; }
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "0" ] && [ "${CI,,}" != "false" ]; }
fail() { say "FAIL: $*"; FAILED=1; }
fatal() {
    say "FAIL: $*"
    if [ -s "$LOG" ]; then say "$FS log (tail):"; tail -n 20 "$LOG"; fi
    exit 1
}

# require_fuse_and_root WHY: skip (exit 77) without /dev/fuse, which fails
# instead under CI, or without root, which the test needs for WHY.
require_fuse_and_root() {
    if [ ! -e /dev/fuse ]; then
        if in_ci; then say "FAIL: /dev/fuse is missing and CI is set"; exit 1; fi
        echo "SKIP: /dev/fuse is missing"; exit 77
    fi
    if [ "$(id -u)" != 0 ]; then
        echo "SKIP: needs root ($1)"; exit 77
    fi
}

# mounted [DIR]: DIR (default $MNT) is a mount point.
mounted() { awk -v m="${1:-$MNT}" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

# start_daemon ARG...: run "$DAEMON" ARG... in the background, its output
# to $LOG, and wait (10 s at most) until $MNT is mounted.
start_daemon() {
    "$DAEMON" "$@" >"$LOG" 2>&1 &
    DAEMON_PID=$!
    for _ in $(seq 1000); do
        mounted && return 0
        kill -0 "$DAEMON_PID" 2>/dev/null || fatal "$FS exited before mounting"
        sleep 0.01
    done
    fatal "$FS did not mount $MNT within 10 s"
}

# stop_daemon: unmount $MNT; the daemon must then exit with status 0.
stop_daemon() {
    local status=timeout
    timeout 10 umount "$MNT" || fail "umount"
    for _ in $(seq 100); do
        if ! kill -0 "$DAEMON_PID" 2>/dev/null; then wait "$DAEMON_PID"; status=$?; break; fi
        sleep 0.05
    done
    [ "$status" = 0 ] || fail "$FS exit status after umount: $status"
    DAEMON_PID=
}

# reap_daemon: at cleanup, after the unmount: a daemon still running gets
# 5 s to exit, then SIGKILL.
reap_daemon() {
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DAEMON_PID" 2>/dev/null
    fi
}
