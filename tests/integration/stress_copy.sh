#!/bin/bash
# stress_copy.sh - the field's stress case (from a WinFsp crash report): a
# 3,000-directory / 10,000-file tree copied onto the volume, copied again
# inside it, compared and deleted; then the volume must be back where it
# started.
#
#   stress_copy.sh [BIN_DIR [MKTREE]]      (CTest passes both; default
#                                          build/bin, build/tests/fsp_mktree)
#
# Steps (each under `timeout`): build the source tree on /tmp (ext4); mount
# the volume in the foreground; record the daemon's VmRSS, its free space
# (df) and `fsptool stat` nodes; `cp -a src mnt/copy` (from outside), then
# `cp -a mnt/copy mnt/copy2` (inside: every file is opened as an existing
# file first), and the same copy into another /tmp directory for the time;
# `diff -r` of both copies; `rm -rf` of both; drop the kernel's dentry and
# inode caches so FORGETs flow; then `fsptool stat` must show handles 0 and
# nodes back at the baseline, the space back at the baseline (memfs: its
# free space; sqlfs: its space used; ptfs: SOURCE empty again),
# the daemon's VmRSS within FSP_STRESS_RSS_SLACK_KB of it, and the daemon
# alive. Prints a summary line with the times and the figures before and
# after.
#
# Environment: FSP_TEST_FS (memfs, ptfs over a directory of its own, or
# sqlfs on a database file of its own, or with FSP_TEST_PG=1 on a
# PostgreSQL database of its own in the cluster PGHOST/PGPORT/PGUSER name:
# tests/pg/cluster),
# FSP_TEST_FS_OPTS (more -o options: open_handles, io_uring...),
# FSP_STRESS_DIRS (3000), FSP_STRESS_FILES (10000), FSP_STRESS_RSS_SLACK_KB
# (8192), CI (a missing /dev/fuse fails instead of skipping; exit 77 = skip).
set -u

BIN=${1:-build/bin}
MKTREE=${2:-$BIN/../tests/fsp_mktree}
FS=${FSP_TEST_FS:-memfs}
FS_OPTS=${FSP_TEST_FS_OPTS:-}
DAEMON=$BIN/$FS
FSPTOOL=$BIN/fsptool
RSS_SLACK_KB=${FSP_STRESS_RSS_SLACK_KB:-8192}
NDIRS=${FSP_STRESS_DIRS:-3000}
NFILES=${FSP_STRESS_FILES:-10000}

NAME=stress_copy
. "$(dirname "$0")/script_common.sh"
require_fuse_and_root "drop_caches, umount"
case $FS in memfs|ptfs|sqlfs) ;; *) say "FAIL: FSP_TEST_FS=$FS: memfs, ptfs or sqlfs"; exit 1;; esac
for f in "$DAEMON" "$FSPTOOL" "$MKTREE"; do
    [ -x "$f" ] || { say "FAIL: $f is missing"; exit 1; }
done

WORK=$(mktemp -d /tmp/fsp-stress.XXXXXX) || exit 1
chmod 755 "$WORK"
SRC=$WORK/src
MNT=$WORK/mnt
EXT=$WORK/ext4copy
BACKING=$WORK/ptfs-source
LOG=$WORK.$FS.log
mkdir -p "$MNT" "$EXT" "$BACKING"
PG_DB=
if [ "$FS" = sqlfs ] && [ -n "${FSP_TEST_PG:-}" ] && [ "$FSP_TEST_PG" != 0 ]; then
    PG_DB=fsp_stress_$$
fi

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
    reap_daemon
    mounted || timeout 300 rm -rf "$WORK"
    [ -n "$PG_DB" ] && timeout 30 dropdb --if-exists --force "$PG_DB"
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$DAEMON_PID/status" 2>/dev/null || echo "?"; }
stat_value() { timeout 10 "$FSPTOOL" stat "$MNT" 2>/dev/null | awk -v k="$1" '$1 == k { print $2 }'; }
free_kb() { timeout 10 df -k --output=avail "$MNT" 2>/dev/null | tail -n 1 | tr -d ' '; }
used_kb() { timeout 10 df -k --output=used "$MNT" 2>/dev/null | tail -n 1 | tr -d ' '; }

# 1. the source tree
T0=$(now)
timeout 300 "$MKTREE" "$SRC" "$NDIRS" "$NFILES" 12345 || fatal "building the source tree"
say "source tree built in $(elapsed "$T0" "$(now)") s"

# 2. mount
ARGS=(-f)
[ -n "$FS_OPTS" ] && ARGS+=(-o "${FS_OPTS#,}")
[ "$FS" = ptfs ] && ARGS+=("$BACKING")
if [ -n "$PG_DB" ]; then
    timeout 30 createdb "$PG_DB" || fatal "createdb $PG_DB (is the cluster up? tests/pg/cluster)"
    ARGS+=("dbname=$PG_DB")
elif [ "$FS" = sqlfs ]; then
    ARGS+=("$WORK/volume.sqlite")
fi
start_daemon "${ARGS[@]}" "$MNT"
say "$FS ${ARGS[*]} $MNT"
timeout 10 stat "$MNT" >/dev/null || fatal "stat of the fresh mount"

RSS0=$(rss_kb)
NODES0=$(stat_value nodes)
HANDLES0=$(stat_value handles)
FREE0=$(free_kb)
USED0=$(used_kb)
[ -n "$NODES0" ] || fatal "fsptool stat $MNT shows no 'nodes' line"
say "baseline: daemon pid $DAEMON_PID, VmRSS $RSS0 kB, nodes $NODES0, handles $HANDLES0, free $FREE0 kB"

# 3. the copies: onto the volume, then inside it
T0=$(now)
timeout 600 cp -a "$SRC" "$MNT/copy" || fatal "cp -a onto $FS"
T_MEMFS=$(elapsed "$T0" "$(now)")
T0=$(now)
timeout 600 cp -a "$MNT/copy" "$MNT/copy2" || fatal "cp -a inside $FS"
T_INSIDE=$(elapsed "$T0" "$(now)")
RSS1=$(rss_kb)
HANDLES1=$(stat_value handles)
NODES1=$(stat_value nodes)
T0=$(now)
timeout 600 cp -a "$SRC" "$EXT/copy" || fatal "cp -a onto ext4"
T_EXT4=$(elapsed "$T0" "$(now)")
say "cp -a: onto $FS $T_MEMFS s, inside $FS $T_INSIDE s, onto ext4 $T_EXT4 s"

# 4. compare
T0=$(now)
timeout 600 diff -r --no-dereference "$SRC" "$MNT/copy" >"$WORK/diff.out" 2>&1 ||
    { head -n 20 "$WORK/diff.out"; fail "diff -r src mnt/copy"; }
timeout 600 diff -r --no-dereference "$MNT/copy" "$MNT/copy2" >"$WORK/diff2.out" 2>&1 ||
    { head -n 20 "$WORK/diff2.out"; fail "diff -r mnt/copy mnt/copy2"; }
T_DIFF=$(elapsed "$T0" "$(now)")
n_src=$(timeout 300 find "$SRC" | wc -l)
l_src=$(timeout 300 find "$SRC" -type f -links +1 | wc -l)
for c in copy copy2; do
    n_dst=$(timeout 300 find "$MNT/$c" | wc -l)
    [ "$n_src" = "$n_dst" ] || fail "entry count: src $n_src, $c $n_dst"
    l_dst=$(timeout 300 find "$MNT/$c" -type f -links +1 | wc -l)
    [ "$l_src" = "$l_dst" ] || fail "hard-linked files: src $l_src, $c $l_dst (cp -a keeps links)"
done
say "diff -r clean in $T_DIFF s ($n_src entries, $l_src hard-linked files)"

# 5. remove, drop caches, and wait for the volume to come back to baseline
T0=$(now)
timeout 600 rm -rf "$MNT/copy" "$MNT/copy2" || fail "rm -rf mnt/copy mnt/copy2"
# (the ext4 copy shares /tmp with ptfs's SOURCE: it goes too, untimed)
T_RM=$(elapsed "$T0" "$(now)")
timeout 600 rm -rf "$EXT/copy"
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
FREE2=$(free_kb)
USED2=$(used_kb)
left=$(timeout 60 find "$MNT" -mindepth 1 | wc -l)
[ "$left" = 0 ] || fail "$left entries left on the volume"
if [ "$FS" = memfs ]; then
    [ "$FREE2" = "$FREE0" ] || fail "free space $FREE2 kB after rm -rf (baseline $FREE0 kB)"
elif [ "$FS" = sqlfs ]; then
    # sqlfs's free space includes that of the file system the database
    # lives on, which other programs change too; what it uses is its
    # own: the database's pages in use (SQLite), the files' bytes
    # (PostgreSQL). Within 64 MiB of the baseline (its WAL stays grown).
    [ $((USED2 - USED0)) -lt 65536 ] ||
        fail "space used $USED2 kB after rm -rf (baseline $USED0 kB)"
else
    # ptfs shows the free space of the file system SOURCE is on, which
    # other programs (the tests beside this one) fill and free too: what
    # is ptfs's own is SOURCE, which must be as empty as it started.
    left=$(timeout 60 find "$BACKING" -mindepth 1 | wc -l)
    [ "$left" = 0 ] || fail "$left entries left in SOURCE ($BACKING)"
fi
# AddressSanitizer's allocator keeps what is freed (its quarantine, and no
# malloc_trim): a sanitized daemon's VmRSS says nothing about leaks, which
# its leak checker reports at exit instead (FSP_SANITIZED: CMakeLists.txt).
if [ "${FSP_SANITIZED:-0}" = 1 ]; then
    say "VmRSS not compared: the daemon is built with sanitizers"
else
    [ $((RSS2 - RSS0)) -le "$RSS_SLACK_KB" ] ||
        fail "VmRSS $RSS2 kB after rm -rf (baseline $RSS0 kB; slack $RSS_SLACK_KB kB)"
fi

# 6. unmount: the daemon exits 0
stop_daemon

say "SUMMARY: $FS${FS_OPTS:+ -o ${FS_OPTS#,}}, $NDIRS dirs + $NFILES files:" \
    "cp -a onto ${T_MEMFS}s, inside ${T_INSIDE}s, ext4 ${T_EXT4}s; rm -rf ${T_RM}s;" \
    "VmRSS ${RSS0} -> ${RSS1} (copies) -> ${RSS2} kB; handles ${HANDLES0} -> ${HANDLES1} -> ${HANDLES};" \
    "nodes ${NODES0} -> ${NODES1} -> ${NODES}; free ${FREE0} -> ${FREE2} kB; used ${USED0} -> ${USED2} kB"
if [ "$FAILED" = 0 ]; then say "PASS"; exit 0; fi
say "FAILED"
exit 1
