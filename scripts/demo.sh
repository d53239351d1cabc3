#!/usr/bin/env bash
# Build fsp, mount memfs, use it, show the live counters, unmount.
#
# Exit status: 0 when every step worked; otherwise that of the step that
# failed, after a line "demo: FAILED: STEP (exit status N)" on stderr. The
# clean-up unmounts the volume only if it is still mounted, and never
# changes the exit status.
set -euo pipefail
cd "$(dirname "$0")/.."

step="starting"
mnt=""
cleanup() {
    local status=$1
    { set +ex; } 2>/dev/null
    if [ -n "$mnt" ]; then
        if mountpoint -q "$mnt"; then
            umount "$mnt" 2>/dev/null || fusermount3 -u "$mnt" 2>/dev/null ||
                umount -l "$mnt" 2>/dev/null ||
                echo "demo: cannot unmount $mnt" >&2
        fi
        mountpoint -q "$mnt" || rmdir "$mnt" 2>/dev/null
    fi
    [ "$status" -eq 0 ] ||
        echo "demo: FAILED: $step (exit status $status)" >&2
    exit "$status"
}
trap 'cleanup $?' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

step="installing the Debian packages (scripts/install-deps.sh)"
bash scripts/install-deps.sh
step="configuring the build (cmake -S . -B build)"
cmake -S . -B build >/dev/null
step="building (cmake --build build)"
cmake --build build -j"$(nproc)" >/dev/null
step="making a mount point (mktemp -d)"
mnt=$(mktemp -d /tmp/memfs-demo.XXXXXX)

set -x
step="mounting memfs on $mnt"
build/bin/memfs -o max_nodes=10000 "$mnt"     # returns once the mount is usable
step="making a directory, a file and a link on the volume"
mkdir "$mnt/docs"
echo "hello from memfs" > "$mnt/docs/hello.txt"
ln -s docs/hello.txt "$mnt/link"
step="copying /usr/include/linux in and comparing the copy (cp -a, diff -r)"
cp -a /usr/include/linux "$mnt/linux-headers"
diff -r /usr/include/linux "$mnt/linux-headers"
step="reading the volume back (cat, ls, df)"
cat "$mnt/link"
ls -la "$mnt" "$mnt/docs"
df -h "$mnt"
step="listing the volume and its counters (fsptool)"
build/bin/fsptool lsvol
build/bin/fsptool stat "$mnt"
step="unmounting $mnt"
umount "$mnt"                                 # the daemon exits 0
set +x
echo "demo: memfs mounted, used and unmounted on $mnt"
