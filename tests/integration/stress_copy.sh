#!/bin/bash
# stress_copy.sh - copy a 3,000-directory / 10,000-file tree onto memfs and
# back out of it, and check that the volume returns to where it started.
#
#   stress_copy.sh [BIN_DIR [MKTREE]]      (CTest passes both; default
#                                          build/bin, build/tests/fsp_mktree)
#
# Steps (each under `timeout`): build the source tree on /tmp (ext4); mount
# memfs -f; record the daemon's VmRSS and `fsptool stat` nodes; time
# `cp -a src mnt/copy` and the same copy into another /tmp directory;
# `diff -r`; `rm -rf mnt/copy`; drop the kernel's dentry/inode caches so
# FORGETs flow; then `fsptool stat` must show handles 0 and nodes back at
# the baseline, and the daemon must be alive. Prints a summary line with
# both copy times and the RSS before and after.
#
# Environment: FSP_STRESS_DIRS (3000), FSP_STRESS_FILES (10000), CI (a
# missing /dev/fuse fails instead of skipping, exit 77 = skip).
set -u

BIN=${1:-build/bin}
MKTREE=${2:-$BIN/../tests/fsp_mktree}
MEMFS=$BIN/memfs
FSPTOOL=$BIN/fsptool
NDIRS=${FSP_STRESS_DIRS:-3000}
NFILES=${FSP_STRESS_FILES:-10000}

say() { echo "stress_copy: $*"; }
in_ci() { [ -n "${CI:-}" ] && [ "${CI}" != "0" ] && [ "${CI,,}" != "false" ]; }

if [ ! -e /dev/fuse ]; then
    if in_ci; then say "FAIL: /dev/fuse is missing and CI is set"; exit 1; fi
    echo "SKIP: /dev/fuse is missing"; exit 77
fi
if [ "$(id -u)" != 0 ]; then
    echo "SKIP: needs root (drop_caches, umount)"; exit 77
fi
for f in "$MEMFS" "$FSPTOOL" "$MKTREE"; do
    [ -x "$f" ] || { say "FAIL: $f is missing"; exit 1; }
done

WORK=$(mktemp -d /tmp/fsp-stress.XXXXXX) || exit 1
chmod 755 "$WORK"
SRC=$WORK/src
MNT=$WORK/mnt
EXT=$WORK/ext4copy
LOG=$WORK.memfs.log
mkdir -p "$MNT" "$EXT"
DAEMON_PID=
FAILED=0

mounted() { awk -v m="$MNT" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }
conn_id() { awk -v m="$MNT" '$5 == m { split($3, d, ":"); id = d[2] } END { print id }' /proc/self/mountinfo; }

cleanup() {
    trap - EXIT INT TERM
    if mounted; then
        if ! timeout 10 umount "$MNT" 2>/dev/null; then
            local id
            id=$(conn_id)
            if [ -n "$id" ]; then
                grep -q ' /sys/fs/fuse/connections ' /proc/self/mountinfo ||
                    mount -t fusectl fusectl /sys/fs/fuse/connections 2>/dev/null
                echo 1 > "/sys/fs/fuse/connections/$id/abort" 2>/dev/null
            fi
            umount -l "$MNT" 2>/dev/null
        fi
    fi
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        for _ in $(seq 50); do kill -0 "$DAEMON_PID" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$DAEMON_PID" 2>/dev/null
    fi
    mounted || timeout 300 rm -rf "$WORK"
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

fail() { say "FAIL: $*"; FAILED=1; }
fatal() {
    say "FAIL: $*"
    if [ -s "$LOG" ]; then say "memfs log (tail):"; tail -n 20 "$LOG"; fi
    exit 1
}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null || echo "?"; }
stat_value() { timeout 10 "$FSPTOOL" stat "$MNT" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }

# 1. the source tree
T0=$(now)
timeout 300 "$MKTREE" "$SRC" "$NDIRS" "$NFILES" 12345 || fatal "building the source tree"
say "source tree built in $(elapsed "$T0" "$(now)") s"

# 2. mount
"$MEMFS" -f "$MNT" >"$LOG" 2>&1 &
DAEMON_PID=$!
for _ in $(seq 1000); do
    mounted && break
    kill -0 "$DAEMON_PID" 2>/dev/null || fatal "memfs exited before mounting"
    sleep 0.01
done
mounted || fatal "memfs did not mount $MNT within 10 s"
timeout 10 stat "$MNT" >/dev/null || fatal "stat of the fresh mount"

RSS0=$(rss_kb)
NODES0=$(stat_value nodes)
HANDLES0=$(stat_value handles)
[ -n "$NODES0" ] || fatal "fsptool stat $MNT shows no 'nodes' line"
say "baseline: daemon pid $DAEMON_PID, VmRSS $RSS0 kB, nodes $NODES0, handles $HANDLES0"

# 3. the copies
T0=$(now)
timeout 600 cp -a "$SRC" "$MNT/copy" || fatal "cp -a onto memfs"
T_MEMFS=$(elapsed "$T0" "$(now)")
RSS1=$(rss_kb)
T0=$(now)
timeout 600 cp -a "$SRC" "$EXT/copy" || fatal "cp -a onto ext4"
T_EXT4=$(elapsed "$T0" "$(now)")
say "cp -a: memfs $T_MEMFS s, ext4 $T_EXT4 s"

# 4. compare
T0=$(now)
timeout 600 diff -r --no-dereference "$SRC" "$MNT/copy" >"$WORK/diff.out" 2>&1 ||
    { head -n 20 "$WORK/diff.out"; fail "diff -r src mnt/copy"; }
T_DIFF=$(elapsed "$T0" "$(now)")
n_src=$(timeout 300 find "$SRC" | wc -l)
n_dst=$(timeout 300 find "$MNT/copy" | wc -l)
[ "$n_src" = "$n_dst" ] || fail "entry count: src $n_src, copy $n_dst"
l_src=$(timeout 300 find "$SRC" -type f -links +1 | wc -l)
l_dst=$(timeout 300 find "$MNT/copy" -type f -links +1 | wc -l)
[ "$l_src" = "$l_dst" ] || fail "hard-linked files: src $l_src, copy $l_dst (cp -a keeps links)"
say "diff -r clean in $T_DIFF s ($n_src entries, $l_src hard-linked files)"

# 5. remove, drop caches, and wait for the volume to come back to baseline
T0=$(now)
timeout 600 rm -rf "$MNT/copy" || fail "rm -rf mnt/copy"
T_RM=$(elapsed "$T0" "$(now)")
sync
NODES=? HANDLES=?
for i in $(seq 20); do
    echo 2 > /proc/sys/vm/drop_caches
    NODES=$(stat_value nodes)
    HANDLES=$(stat_value handles)
    [ "$HANDLES" = 0 ] && [ "$NODES" = "$NODES0" ] && break
    sleep 0.25
done
[ "$HANDLES" = 0 ] || fail "handles $HANDLES after rm -rf and drop_caches (expected 0)"
[ "$NODES" = "$NODES0" ] || fail "nodes $NODES after rm -rf and drop_caches (baseline $NODES0)"
kill -0 "$DAEMON_PID" 2>/dev/null || fatal "the daemon died"
RSS2=$(rss_kb)
left=$(timeout 60 find "$MNT" -mindepth 1 | wc -l)
[ "$left" = 0 ] || fail "$left entries left on the volume"

# 6. unmount: the daemon exits 0
timeout 10 umount "$MNT" || fail "umount"
STATUS=timeout
for _ in $(seq 100); do
    if ! kill -0 "$DAEMON_PID" 2>/dev/null; then wait "$DAEMON_PID"; STATUS=$?; break; fi
    sleep 0.05
done
[ "$STATUS" = 0 ] || fail "memfs exit status after umount: $STATUS"
DAEMON_PID=

say "SUMMARY: $NDIRS dirs + $NFILES files: cp -a memfs ${T_MEMFS}s, ext4 ${T_EXT4}s;" \
    "rm -rf ${T_RM}s; memfs VmRSS ${RSS0} kB before, ${RSS1} kB after copy," \
    "${RSS2} kB after rm; nodes ${NODES0} -> ${NODES}, handles ${HANDLES}"
if [ "$FAILED" = 0 ]; then say "PASS"; exit 0; fi
say "FAILED"
exit 1
