#!/bin/bash
# tree_copy.sh - copies of a tree that has everything a Unix tree can have
# give, on an fsp volume, exactly what they give on the kernel's own file
# system: memfs and sqlfs are held to tmpfs, ptfs (over an ext4 SOURCE)
# to ext4.
#
#   tree_copy.sh [BIN_DIR]         (CTest passes it; default build/bin)
#
# The source tree, built on /tmp (ext4): POSIX ACLs (access and default,
# named users and groups), a file whose mode was set as a minimal ACL,
# user xattrs, set-user-ID, set-group-ID and sticky bits, hard links (also
# across directories), symbolic links (relative, absolute, dangling, owned
# by another user), a fifo, a unix socket, a device node, files owned by
# other users, and nanosecond times on all of them.
#
# It is copied with `cp -a`, `tar --xattrs --acls -p` (create, then
# extract) and `rsync -aHAX`, once into the reference file system (a tmpfs
# of its own, or an ext4 directory) and once into the fsp volume; each
# copy's manifest must be identical to the reference's: per entry the
# file type and mode (stat %f), the `ls -l` mode column (its '+' says an
# ACL is more than the mode), owner, group, nanosecond mtime, size (not of
# directories), link count and hard-link group (not of directories),
# every xattr (`getfattr -h -d -m - -e hex`) and the ACLs (`getfacl -P`).
# The original bug: cp -a into memfs made every directory 0700 and every
# file 0600 with a '+'.
#
# Then the rules, on both file systems, as transcripts that must match
# (and some facts checked on their own): an ACL that grants a user read
# access and one that denies it are enforced for that user (uid 1001,
# through setpriv); the umask applies without a default ACL and not with
# one; in a set-group-ID directory a file takes its group and a directory
# its set-group-ID bit; chmod and setfacl by a user outside the file's
# group clear set-group-ID.
#
# Environment: FSP_TEST_FS (memfs, ptfs or sqlfs), FSP_TEST_FS_OPTS (more -o
# options, after a comma: ",open_handles"; ",noacl" shows the old bug), CI (a missing /dev/fuse fails
# instead of skipping; exit 77 = skip).
set -u

BIN=${1:-build/bin}
FS=${FSP_TEST_FS:-memfs}
# The options arrive with or without a leading comma (ctest appends ",x").
FS_OPTS=${FSP_TEST_FS_OPTS:-}
FS_OPTS=${FS_OPTS#,}
DAEMON=$BIN/$FS
OTHER=1001      # a user outside every group below
GROUP=1002

NAME=tree_copy
. "$(dirname "$0")/script_common.sh"
require_fuse_and_root "owners, tmpfs, setpriv"
case $FS in memfs|ptfs|sqlfs) ;; *) say "FAIL: FSP_TEST_FS=$FS: memfs, ptfs or sqlfs"; exit 1;; esac
for tool in getfacl setfacl getfattr setfattr rsync tar setpriv python3; do
    command -v "$tool" >/dev/null ||
        { echo "SKIP: $tool is missing (scripts/install-deps.sh)"; exit 77; }
done
[ -x "$DAEMON" ] || { say "FAIL: $DAEMON is missing"; exit 1; }
# The system's, which the other user may run (not a shim under /root).
PYTHON=/usr/bin/python3
[ -x "$PYTHON" ] || PYTHON=$(command -v python3)

WORK=$(mktemp -d /tmp/fsp-tree-copy.XXXXXX) || exit 1
chmod 755 "$WORK"
SRC=$WORK/src
MNT=$WORK/mnt             # the fsp volume
REF=$WORK/ref             # tmpfs, or an ext4 directory
BACKING=$WORK/ptfs-source
LOG=$WORK.$FS.log
mkdir -p "$SRC" "$MNT" "$REF" "$BACKING"

cleanup() {
    trap - EXIT INT TERM
    if mounted; then
        timeout 10 umount "$MNT" 2>/dev/null || umount -l "$MNT" 2>/dev/null
    fi
    reap_daemon
    mounted "$REF" && umount "$REF"
    [ -n "${FSP_KEEP:-}" ] || mounted || mounted "$REF" || timeout 120 rm -rf "$WORK"
    rm -f "$LOG"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

as_other() { timeout 20 setpriv --reuid=$OTHER --regid=$OTHER --clear-groups "$@"; }

# ---- 1. the source tree ------------------------------------------------

build_tree() (
    set -e
    cd "$1"
    umask 022
    mkdir -p plain/deep/deeper acl/inherit sgid sticky
    echo hello > plain/file
    printf 'x%.0s' $(seq 5000) > plain/deep/deeper/big
    echo run > plain/exec; chmod 755 plain/exec
    echo suid > plain/suid; chmod 4755 plain/suid
    echo sgid > plain/sgid; chmod 2755 plain/sgid
    echo private > plain/private; chmod 600 plain/private
    echo theirs > plain/theirs; chown $OTHER:$GROUP plain/theirs
    chown $OTHER:$GROUP plain/deep
    # hard links, one across directories
    echo linked > plain/link1
    ln plain/link1 plain/link2
    ln plain/link1 acl/link3
    # symbolic links
    ln -s file plain/rel
    ln -s /etc/hostname plain/abs
    ln -s nowhere plain/dangling
    ln -s file plain/their_link; chown -h $OTHER:$GROUP plain/their_link
    # special files
    mkfifo -m 640 plain/fifo
    python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' plain/sock
    mknod -m 600 plain/null c 1 3
    # user xattrs, on a file and a directory
    setfattr -n user.colour -v blue plain/file
    setfattr -n user.bin -v 0x00ff7f plain/file
    setfattr -n user.dir -v yes plain/deep
    # ACLs: named entries, a mask, a denial, a default ACL and what
    # inherits it, and a mode set as an ACL that is just a mode
    echo acl > acl/file
    setfacl -m u:$OTHER:rw-,g:$GROUP:r--,m::rw- acl/file
    echo denied > acl/denied
    setfacl -m u:$OTHER:--- acl/denied
    echo minimal > acl/minimal
    setfacl -m u::rw-,g::r--,o::--- acl/minimal
    setfacl -m u:$OTHER:rwx acl/inherit
    setfacl -d -m u:$OTHER:rwx,g:$GROUP:r-x,o::--- acl/inherit
    echo child > acl/inherit/file
    mkdir acl/inherit/dir
    # set-group-ID and sticky directories
    chown 0:$GROUP sgid; chmod 2775 sgid
    echo in-sgid > sgid/file
    mkdir sgid/sub
    chmod 1777 sticky
    echo mine > sticky/file
    # nanosecond times, distinct per entry, directories last
    i=0
    find . -depth -print0 | while IFS= read -r -d '' p; do
        i=$((i + 1))
        touch -h -d "@$((1600000000 + i * 7919)).$(printf %09d $((123456789 + i * 1000003)))" "$p"
    done
)

# ---- 2. manifests ------------------------------------------------------

# manifest DIR: what must survive, per entry in name order, in four
# parts: type, mode, owner, nanosecond mtime, and for all but directories
# size, link count and hard-link group (the first name of the inode);
# the `ls -l` mode column; the xattrs; the ACLs. (Each tool runs once on
# every entry: a process per entry is slow on a loaded machine.)
manifest() (
    cd "$1" || exit 1
    find . -print0 | LC_ALL=C sort -z > "$WORK/names" || exit 1
    "$PYTHON" - "$WORK/names" <<'PY' || exit 1
import os, stat, sys
first = {}
for p in open(sys.argv[1], 'rb').read().split(b'\0')[:-1]:
    st = os.lstat(p)
    line = '%s %o %d:%d %d' % (p.decode(), st.st_mode, st.st_uid,
                               st.st_gid, st.st_mtime_ns)
    if not stat.S_ISDIR(st.st_mode):
        group = first.setdefault(st.st_ino, p.decode())
        line += ' size=%d links=%d group=%s' % (st.st_size, st.st_nlink,
                                                group)
    print(line)
PY
    xargs -0 ls -ldU -- < "$WORK/names" | awk '{ print $1, $NF }'
    xargs -0 getfattr -h -d -m - -e hex -- < "$WORK/names" 2>/dev/null
    # getfacl follows symbolic links whatever -P says of the walk
    xargs -0 stat -c '%F|%n' -- < "$WORK/names" | awk -F'|' '$1 != "symbolic link" { printf "%s%c", $2, 0 }' |
        xargs -0 getfacl -P -n -- 2>/dev/null
)

# copy HOW DEST: the copy of $SRC into DEST/HOW (which must not exist).
TAR_OPTS=(--xattrs --xattrs-include='*' --acls -p --numeric-owner --format=posix)
copy() {
    case $1 in
    cp) timeout 120 cp -a "$SRC" "$2/cp" ;;
    tar) mkdir "$2/tar" &&
         timeout 120 tar "${TAR_OPTS[@]}" -cf "$WORK/tree.tar" -C "$SRC" . &&
         timeout 120 tar "${TAR_OPTS[@]}" -xf "$WORK/tree.tar" -C "$2/tar" ;;
    rsync) timeout 120 rsync -aHAX "$SRC/" "$2/rsync/" ;;
    esac
}

# ---- 3. the rules, as a transcript -------------------------------------

# try WHAT CMD...: "WHAT ok" or "WHAT EACCES" (any failure)
try() { local what=$1; shift; if "$@" >/dev/null 2>&1; then echo "$what ok"; else echo "$what failed"; fi; }
show() { for p in "$@"; do stat -c '%n %A %u:%g' -- "$p"; done; }

# rules DIR: what the volume does with permissions, in DIR.
rules() (
    cd "$1" || exit 1
    umask 022
    # ACL grants and denials for another user
    mkdir e; chmod 755 e
    echo secret > e/granted; chmod 600 e/granted; setfacl -m u:$OTHER:r-- e/granted
    echo open > e/denied; chmod 644 e/denied; setfacl -m u:$OTHER:--- e/denied
    try "read granted" as_other cat e/granted
    try "write granted" as_other sh -c 'echo x >> e/granted'
    try "read denied" as_other cat e/denied
    mkdir e/shared; setfacl -m u:$OTHER:rwx e/shared
    setfacl -d -m u:$OTHER:rwx e/shared
    try "create in shared" as_other sh -c 'echo x > e/shared/theirs'
    echo root > e/shared/roots
    try "append to inherited" as_other sh -c 'echo x >> e/shared/roots'
    show e/shared/theirs e/shared/roots
    getfacl -P -n --omit-header e/shared/roots
    # umask: applied without a default ACL, replaced by one
    (umask 077; mkdir e/masked_dir; echo > e/masked_file; mkfifo e/masked_fifo
     mkdir e/shared/dir; echo > e/shared/file; mkfifo e/shared/fifo)
    show e/masked_dir e/masked_file e/masked_fifo e/shared/dir e/shared/file e/shared/fifo
    getfacl -P -n --omit-header e/shared/dir
    # set-group-ID directories
    mkdir g; chown 0:$GROUP g; chmod 2777 g
    as_other sh -c 'umask 022; echo > g/file; mkdir g/dir; mkfifo g/fifo'
    as_other "$PYTHON" -c 'import os; os.close(os.open("g/wants_sgid", os.O_CREAT | os.O_WRONLY, 0o2755))'
    mkdir g/roots_dir
    show g/file g/dir g/fifo g/wants_sgid g/roots_dir
    # chmod g+s and setfacl by a user outside the file's group
    try "chmod 2755 by non-member" as_other chmod 2755 g/file
    show g/file
    chmod 2770 g/file
    try "setfacl by non-member" as_other setfacl -m g::r-x g/file
    show g/file
    # ... and by root, who keeps it
    chmod 2770 g/file; setfacl -m g::r-x g/file
    show g/file
    # chmod keeps an extended ACL's mask in step; removing the ACL
    chmod 640 e/granted
    getfacl -P -n --omit-header e/granted
    setfacl -b e/granted; show e/granted
    try "setfacl -b again" setfacl -b e/granted
    # an invalid ACL is refused
    try "invalid ACL" setfattr -n system.posix_acl_access -v 0x0200000001000600ffffffff e/denied
)

# ---- 4. run ------------------------------------------------------------

build_tree "$SRC" || fatal "building the source tree"
say "source tree: $(find "$SRC" | wc -l) entries"

if [ "$FS" = memfs ] || [ "$FS" = sqlfs ]; then
    mount -t tmpfs -o mode=755 fsp-tree-copy "$REF" || fatal "mount tmpfs"
    REF_NAME=tmpfs
    ARGS=(-f -o "allow_other${FS_OPTS:+,$FS_OPTS}")
    [ "$FS" = sqlfs ] && ARGS+=("$WORK/tree.sqlite")
else
    REF_NAME=ext4
    ARGS=(-f -o "allow_other${FS_OPTS:+,$FS_OPTS}" "$BACKING")
fi
start_daemon "${ARGS[@]}" "$MNT"
say "$FS ${ARGS[*]} $MNT, against $REF_NAME"

for how in cp tar rsync; do
    copy $how "$REF" || fail "$how into $REF_NAME"
    copy $how "$MNT" || fail "$how into $FS"
    manifest "$REF/$how" > "$WORK/$how.$REF_NAME" || fail "manifest of $REF_NAME/$how"
    manifest "$MNT/$how" > "$WORK/$how.$FS" || fail "manifest of $FS/$how"
    if diff -u "$WORK/$how.$REF_NAME" "$WORK/$how.$FS" > "$WORK/$how.diff"; then
        say "$how: $(grep -c '^\./' "$WORK/$how.$FS") entries," \
            "$(grep -c '^mask::' "$WORK/$how.$FS") extended and" \
            "$(grep -c '^default:user::' "$WORK/$how.$FS") default ACLs," \
            "$(grep -c '=0x' "$WORK/$how.$FS") xattrs: identical to $REF_NAME"
    else
        head -n 40 "$WORK/$how.diff"
        fail "$how: the copy on $FS differs from the one on $REF_NAME"
    fi
done

# The original bug, said plainly: no '+' where the source has none, and
# the modes of cp -a's copy are the source's.
plus_src=$(cd "$SRC" && find . ! -type l -exec ls -ld {} + | awk '$1 ~ /\+$/' | wc -l)
plus_fsp=$(cd "$MNT/cp" && find . ! -type l -exec ls -ld {} + | awk '$1 ~ /\+$/' | wc -l)
[ "$plus_src" = "$plus_fsp" ] || fail "ls -l shows $plus_fsp entries with '+' on $FS, $plus_src in the source"
modes_src=$(cd "$SRC" && find . -printf '%p %m\n' | LC_ALL=C sort | md5sum)
modes_fsp=$(cd "$MNT/cp" && find . -printf '%p %m\n' | LC_ALL=C sort | md5sum)
[ "$modes_src" = "$modes_fsp" ] || fail "cp -a onto $FS changed modes"
say "cp -a: $plus_fsp entries with '+' on $FS (source: $plus_src)"

mkdir "$REF/rules" "$MNT/rules"
rules "$REF/rules" > "$WORK/rules.$REF_NAME" 2>&1
rules "$MNT/rules" > "$WORK/rules.$FS" 2>&1
if diff -u "$WORK/rules.$REF_NAME" "$WORK/rules.$FS" > "$WORK/rules.diff"; then
    say "rules: $(wc -l < "$WORK/rules.$FS") lines identical to $REF_NAME"
else
    cat "$WORK/rules.diff"
    fail "rules: $FS differs from $REF_NAME"
fi
# What the transcripts must say, whatever the reference does.
for fact in "read granted ok" "read denied failed" "write granted failed" \
            "create in shared ok" "append to inherited ok" "invalid ACL failed" \
            "g/dir drwxr-sr-x $OTHER:$GROUP" "g/file -rw-r--r-- $OTHER:$GROUP" \
            "g/wants_sgid -rwxr-xr-x $OTHER:$GROUP" "g/file -rwxr-x--- $OTHER:$GROUP" \
            "g/file -rwxr-s--- $OTHER:$GROUP"; do
    grep -qxF "$fact" "$WORK/rules.$FS" || fail "rules on $FS: no line '$fact'"
done

stop_daemon

if [ "$FAILED" = 0 ]; then say "PASS"; exit 0; fi
say "FAILED"
exit 1
