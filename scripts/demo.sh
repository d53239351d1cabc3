#!/usr/bin/env bash
# Build fsp, mount memfs, use it, show the live counters, unmount.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cmake -S . -B build >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
mnt=$(mktemp -d /tmp/memfs-demo.XXXXXX)
trap 'fusermount3 -u "$mnt" 2>/dev/null || umount "$mnt" 2>/dev/null; rmdir "$mnt" 2>/dev/null || true' EXIT

set -x
build/bin/memfs -o max_nodes=10000 "$mnt"     # returns once the mount is usable
mkdir "$mnt/docs"
echo "hello from memfs" > "$mnt/docs/hello.txt"
ln -s docs/hello.txt "$mnt/link"
cp -a /usr/include/linux "$mnt/linux-headers"
cat "$mnt/link"
ls -la "$mnt" "$mnt/docs"
df -h "$mnt"
build/bin/fsptool lsvol
build/bin/fsptool stat "$mnt"
umount "$mnt"                                 # the daemon exits 0
set +x
echo "demo: memfs mounted, used and unmounted on $mnt"
