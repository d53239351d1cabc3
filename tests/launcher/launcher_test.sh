#!/usr/bin/env bash
# launcher_test.sh BIN_DIR [CASE-SUBSTRING]: integration tests of
# fsp-launcherd, fsp-launchctl and mount.fsp, serving memfs for real.
#
# Each case is a function named after the behaviour it checks. Everything
# lives in a private directory under /tmp: class files, the launcher's
# socket, state and logs, the mount points. Every command that could wait
# runs under timeout(1), and the EXIT trap stops the launchers this script
# started, unmounts its mounts and ends its memfs processes, pass or fail.
# Needs root and /dev/fuse (exit 77, skipped, without them).
set -u

BIN=${1:?usage: launcher_test.sh BIN_DIR [CASE-SUBSTRING]}
FILTER=${2:-}
BIN=$(cd "$BIN" && pwd)
if [ "$(id -u)" != 0 ] || [ ! -c /dev/fuse ]; then
    echo "launcher_test: skipped (needs root and /dev/fuse)"
    exit 77
fi

T=$(mktemp -d /tmp/fsp-launcher-test.XXXXXX)
chmod 755 "$T"
mkdir -p "$T/classes" "$T/run"
SOCK=$T/run/launcher.sock
CTL="timeout 30 $BIN/fsp-launchctl -s $SOCK"
DAEMON_PID=
FAILED_CASES=0
PASSED_CASES=0
CASE_FAILED=0

cleanup() {
    local pid m
    [ -n "$DAEMON_PID" ] && kill "$DAEMON_PID" 2>/dev/null && wait "$DAEMON_PID" 2>/dev/null
    # memfs processes serving our mount points
    for pid in $(pgrep -f "$T/" 2>/dev/null); do
        [ "$pid" != $$ ] && kill -9 "$pid" 2>/dev/null
    done
    awk -v t="$T/" 'index($2, t) == 1 {print $2}' /proc/mounts | sort -r |
        while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$T"
}
trap cleanup EXIT

fail() {
    echo "    FAILED: $*" >&2
    CASE_FAILED=1
}

not() {
    ! "$@"
}

# check DESCRIPTION COMMAND...: the command must succeed.
check() {
    local what=$1
    shift
    "$@" || fail "$what"
}

start_daemon() {
    timeout 600 "$BIN/fsp-launcherd" -v -c "$T/classes" -s "$SOCK" \
        2>>"$T/launcherd.log" &
    DAEMON_PID=$!
    local i
    for i in $(seq 50); do
        [ -S "$SOCK" ] && return 0
        sleep 0.1
    done
    fail "launcher did not come up"
}

# Stops the launcher with SIGTERM; one that has not left within 10 s is
# a failure, named with where its threads wait, and is killed.
stop_daemon() {
    [ -n "$DAEMON_PID" ] || return 0
    local pid
    pid=$(launcherd_pid)
    kill "$DAEMON_PID"
    # (the launcher, not the timeout(1) around it: that stays a zombie
    # of this shell until the wait below)
    if [ -n "$pid" ] && ! wait_for 10 not kill -0 "$pid" 2>/dev/null; then
        fail "launcher still there 10 s after SIGTERM (wchan: $(cat /proc/"$pid"/wchan 2>/dev/null), state: $(ps -o stat= -p "$pid" 2>/dev/null))"
        kill -9 "$pid" "$DAEMON_PID" 2>/dev/null
    fi
    wait "$DAEMON_PID" 2>/dev/null
    DAEMON_PID=
}

# class NAME [LINE]...: writes classes/NAME.conf, root-owned, mode 644.
class() {
    local name=$1
    shift
    printf '%s\n' "$@" >"$T/classes/$name.conf"
    chmod 644 "$T/classes/$name.conf"
}

memfs_class() {
    class "$1" "executable = $BIN/memfs" "arguments = %m" "${@:2}"
}

is_fuse_mount() {
    awk -v m="$1" '$2 == m && $3 ~ /^fuse/ {found = 1} END {exit !found}' /proc/mounts
}

# wait_for SECONDS COMMAND...: until the command succeeds.
wait_for() {
    local deadline=$((SECONDS + $1))
    shift
    until "$@"; do
        [ $SECONDS -ge $deadline ] && return 1
        sleep 0.1
    done
}

field() { # field INSTANCE-LINE N
    echo "$1" | cut -f"$2"
}

# The launcher itself: DAEMON_PID is the timeout(1) around it.
launcherd_pid() {
    pgrep -P "$DAEMON_PID" fsp-launcherd
}

no_zombies_of() {
    [ -n "$1" ] && ! ps -o stat= --ppid "$1" | grep -q Z
}

# ---- cases ----

start_list_info_stop_serve_an_instance() {
    memfs_class memfs
    mkdir "$T/m1"
    local out rc
    out=$($CTL start memfs one "$T/m1")
    rc=$?
    check "start exits 0 (was $rc)" [ $rc = 0 ]
    check "start prints the instance line" [ "$(field "$out" 1-2)" = "memfs	one" ]
    check "the mount point is a FUSE mount" is_fuse_mount "$T/m1"
    check "the file system serves files" sh -c "echo hi > '$T/m1/f' && grep -q hi '$T/m1/f'"
    out=$($CTL list)
    check "list shows the instance running" [ "$(field "$out" 2,4,5,6)" = "one	running	0	$T/m1" ]
    check "list shows the pid of a live process" kill -0 "$(field "$out" 3)"
    out=$($CTL info memfs one)
    check "info names the state" grep -qx "state: running" <<<"$out"
    check "info names the mount point" grep -qx "mountpoint: $T/m1" <<<"$out"
    check "stop exits 0" $CTL stop memfs one
    check "stop unmounts" not is_fuse_mount "$T/m1"
    $CTL info memfs one 2>/dev/null
    check "info of a stopped instance exits 5" [ $? = 5 ]
    check "list is empty after stop" [ -z "$($CTL list)" ]
    check "the launcher leaves no zombie" no_zombies_of "$(launcherd_pid)"
    check "start and stop are logged" grep -q "memfs one: stopped" "$T/launcherd.log"
}

broken_class_is_refused_with_file_line_and_fix_and_others_keep_working() {
    memfs_class good
    class broken "executable = $BIN/memfs" "arguments = %m" "recovery = sometimes"
    mkdir "$T/m2" "$T/m3"
    local err rc
    err=$($CTL start broken b "$T/m2" 2>&1 >/dev/null)
    rc=$?
    check "start of a broken class exits 1 (was $rc)" [ $rc = 1 ]
    check "the message names file, line and fix" \
        grep -q "^$T/classes/broken.conf:3: recovery 'sometimes' is neither no nor restart; write recovery = restart" <<<"$err"
    check "nothing is mounted" not is_fuse_mount "$T/m2"
    check "a good class still starts" $CTL start good g "$T/m3"
    check "and stops" $CTL stop good g
    err=$($CTL start missing x "$T/m2" 2>&1 >/dev/null)
    rc=$?
    check "start of a missing class exits 5 (was $rc)" [ $rc = 5 ]
    check "the message names the class file" grep -q "$T/classes/missing.conf:0: no such class file" <<<"$err"
}

writable_class_file_is_refused() {
    memfs_class open
    chmod 666 "$T/classes/open.conf"
    mkdir "$T/m4"
    local err
    err=$($CTL start open o "$T/m4" 2>&1 >/dev/null)
    check "the refusal says who could run code as root" \
        grep -q "open.conf:0: class file '.*' is writable by others than root (mode 0666).*chmod go-w" <<<"$err"
    check "nothing is mounted" not is_fuse_mount "$T/m4"
}

failed_start_reports_the_file_systems_error_output() {
    class bad "executable = $BIN/memfs" "arguments = -o no_such_option %m"
    mkdir "$T/m5"
    local err rc
    err=$($CTL start bad x "$T/m5" 2>&1 >/dev/null)
    rc=$?
    check "a failed start exits 1 (was $rc)" [ $rc = 1 ]
    check "memfs's own message is shown" grep -q "memfs: unknown option 'no_such_option'" <<<"$err"
    check "the status says the file system exited" grep -q "ECHILD: the file system exited with status" <<<"$err"
    check "no instance is left" [ -z "$($CTL list)" ]
}

caller_outside_allow_is_refused_and_one_inside_is_served() {
    memfs_class shared "allow = daemon"
    mkdir "$T/m6"
    local rc
    setpriv --reuid=nobody --regid=nogroup --clear-groups \
        $CTL start shared s "$T/m6" 2>"$T/err"
    rc=$?
    check "nobody is refused with exit 4 (was $rc)" [ $rc = 4 ]
    check "the refusal names the allow list" grep -q "EACCES: user nobody may not start class shared" "$T/err"
    check "nothing is mounted" not is_fuse_mount "$T/m6"
    check "daemon, in allow, is served" \
        setpriv --reuid=daemon --regid=daemon --clear-groups $CTL start shared s "$T/m6"
    check "the mount is there" is_fuse_mount "$T/m6"
    setpriv --reuid=nobody --regid=nogroup --clear-groups $CTL stop shared s 2>/dev/null
    check "nobody may not stop it" [ $? = 4 ]
    check "daemon may stop it" \
        setpriv --reuid=daemon --regid=daemon --clear-groups $CTL stop shared s
}

crashed_instance_is_restarted_when_its_class_asks() {
    memfs_class phoenix "recovery = restart" "recovery_delay_ms = 100"
    mkdir "$T/m7"
    check "start" $CTL start phoenix p "$T/m7"
    local old new
    old=$(field "$($CTL list)" 3)
    kill -9 "$old"
    wait_for 10 sh -c "$CTL list | grep -q '	running	1	'"
    new=$(field "$($CTL list)" 3)
    check "the restarted instance has a new pid" [ -n "$new" -a "$new" != "$old" ]
    check "its mount is back" is_fuse_mount "$T/m7"
    check "it serves again" sh -c "echo x > '$T/m7/after'"
    check "the restart is logged" grep -q "phoenix p: was killed by signal 9.*restarting in" "$T/launcherd.log"
    check "stop" $CTL stop phoenix p
    check "the launcher leaves no zombie" no_zombies_of "$(launcherd_pid)"
}

crash_past_recovery_limit_leaves_a_failed_instance() {
    memfs_class fragile "recovery = restart" "recovery_limit = 0"
    mkdir "$T/m8"
    check "start" $CTL start fragile f "$T/m8"
    kill -9 "$(field "$($CTL list)" 3)"
    check "the instance is failed" wait_for 10 sh -c "$CTL list | grep -q '	failed	'"
    check "its dead mount is cleared" not is_fuse_mount "$T/m8"
    check "stop forgets it" $CTL stop fragile f
    check "list is empty" [ -z "$($CTL list)" ]
}

instances_survive_a_launcher_restart_and_are_adopted() {
    memfs_class lasting "recovery = restart" "recovery_delay_ms = 100"
    mkdir "$T/m9"
    check "start" $CTL start lasting l "$T/m9"
    local pid
    pid=$(field "$($CTL list)" 3)
    stop_daemon
    check "the instance outlives the launcher" kill -0 "$pid"
    check "its mount stays" is_fuse_mount "$T/m9"
    start_daemon
    check "the new launcher lists it with the same pid" \
        [ "$(field "$($CTL list)" 2-5)" = "l	$pid	running	0" ]
    check "the adoption is logged" grep -q "lasting l: adopted pid $pid" "$T/launcherd.log"
    kill -9 "$pid"
    check "the new launcher restarts it when it crashes" \
        wait_for 10 sh -c "$CTL list | grep -q '	running	1	'"
    check "and stops it" $CTL stop lasting l
    check "which unmounts it" not is_fuse_mount "$T/m9"
}

malformed_and_stalled_clients_do_not_take_the_launcher_down() {
    python3 - "$SOCK" <<'EOF' || fail "raw clients"
import socket, sys, time
path = sys.argv[1]
def ask(data, wait=5):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(wait + 5)
    s.connect(path)
    s.sendall(data)
    reply = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        reply += chunk
    s.close()
    return reply.decode()
assert ask(b"hello\n").startswith("ERR\tEINVAL"), "garbage"
assert ask(b"\t\t\t\n").startswith("ERR\tEINVAL"), "empty fields"
assert ask(b"stop\tx\n").startswith("ERR\tEINVAL"), "short stop"
assert ask(b"x" * 5000).startswith("ERR\tEMSGSIZE"), "oversized"
stalled = socket.socket(socket.AF_UNIX)
stalled.connect(path)
t = time.time()
assert ask(b"list\n") == "OK\n", "list while another client stalls"
assert time.time() - t < 2, "a stalled client blocked the launcher"
stalled.settimeout(10)
assert stalled.recv(100).startswith(b"ERR\tETIMEDOUT"), "stalled client"
EOF
    check "the launcher still runs" kill -0 "$DAEMON_PID"
    check "and answers" $CTL list
}

mount_t_and_fstab_run_the_class_through_mount_fsp() {
    memfs_class memfs
    mkdir -p "$T/sbin" "$T/mt" "$T/mf"
    cp "$BIN/mount.fsp" "$T/sbin/mount.fsp"
    printf 'none %s fsp.memfs max_nodes=1000,noauto,nodev 0 0\n' "$T/mf" >"$T/fstab"
    # A private mount namespace: /usr/sbin gets mount.fsp from an overlay,
    # and nothing of it outlives this command.
    FSP_CLASS_DIR="$T/classes" timeout 60 unshare -m --propagation private sh -c '
        set -e
        T=$1
        mount -t overlay overlay -o "lowerdir=$T/sbin:/usr/sbin" /usr/sbin
        mount -t fsp.memfs none "$T/mt" -o max_nodes=100000
        awk -v m="$T/mt" "\$2 == m && \$3 == \"fuse.memfs\" {f=1} END {exit !f}" /proc/mounts
        # mount(8) passes neither dev nor suid, its defaults: they hold
        awk -v m="$T/mt" "\$2 == m {print \$4}" /proc/mounts > "$T/mt.flags"
        echo data > "$T/mt/file"
        grep -q data "$T/mt/file"
        pgrep -f "memfs.*max_nodes.100000.* $T/mt" > "$T/mt.pid"
        umount "$T/mt"
        mount -T "$T/fstab" "$T/mf"
        awk -v m="$T/mf" "\$2 == m && \$3 == \"fuse.memfs\" {f=1} END {exit !f}" /proc/mounts
        pgrep -f "memfs.*max_nodes.1000 .* $T/mf" > "$T/mf.pid"
        awk -v m="$T/mf" "\$2 == m {print \$4}" /proc/mounts > "$T/mf.flags"
        umount "$T/mf"
    ' sh "$T" 2>"$T/mount.err"
    local rc=$?
    check "mount -t, fstab and umount succeed in a private namespace (rc $rc: $(cat "$T/mount.err"))" [ $rc = 0 ]
    check "mount -t passed -o max_nodes to memfs" [ -s "$T/mt.pid" ]
    check "the fstab line passed its options, not noauto" [ -s "$T/mf.pid" ]
    check "a root mount without nodev or nosuid allows devices and set-ID ($(cat "$T/mt.flags" 2>/dev/null))" \
        sh -c "! grep -Eq 'nodev|nosuid' '$T/mt.flags'"
    check "the fstab line's nodev holds, and suid with it ($(cat "$T/mf.flags" 2>/dev/null))" \
        sh -c "grep -q nodev '$T/mf.flags' && ! grep -q nosuid '$T/mf.flags'"
    check "umount ended the file system" \
        wait_for 5 sh -c "! kill -0 $(cat "$T/mt.pid" "$T/mf.pid" 2>/dev/null | tr '\n' ' ') 2>/dev/null"
    printf 'executable = /nonexistent\n' >"$T/classes/gone.conf"
    FSP_CLASS_DIR="$T/classes" timeout 10 "$BIN/mount.fsp" none "$T/mt" -t fsp.gone 2>"$T/err"
    check "a broken class fails the mount with exit 32" [ $? = 32 ]
    check "and names file and line" grep -q "gone.conf:1: executable '/nonexistent' cannot be found" "$T/err"
}

CASES="start_list_info_stop_serve_an_instance
broken_class_is_refused_with_file_line_and_fix_and_others_keep_working
writable_class_file_is_refused
failed_start_reports_the_file_systems_error_output
caller_outside_allow_is_refused_and_one_inside_is_served
crashed_instance_is_restarted_when_its_class_asks
crash_past_recovery_limit_leaves_a_failed_instance
instances_survive_a_launcher_restart_and_are_adopted
malformed_and_stalled_clients_do_not_take_the_launcher_down
mount_t_and_fstab_run_the_class_through_mount_fsp"

start_daemon
for c in $CASES; do
    case "$c" in *"$FILTER"*) ;; *) continue ;; esac
    CASE_FAILED=0
    echo "--- $c"
    rm -f "$T"/classes/*.conf
    $c
    # leftovers of a failed case must not break the next one
    for i in $($CTL list 2>/dev/null | cut -f1,2 | tr '\t' ':'); do
        $CTL stop "${i%%:*}" "${i#*:}" >/dev/null 2>&1
    done
    if [ $CASE_FAILED = 0 ]; then
        PASSED_CASES=$((PASSED_CASES + 1))
    else
        FAILED_CASES=$((FAILED_CASES + 1))
        echo "FAIL: $c"
    fi
done
stop_daemon
[ $FAILED_CASES = 0 ] || { echo "--- launcherd log:"; cat "$T/launcherd.log"; }
echo "launcher_test: $PASSED_CASES passed, $FAILED_CASES failed"
[ $FAILED_CASES = 0 ]
