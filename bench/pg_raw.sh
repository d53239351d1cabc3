#!/usr/bin/env bash
# bench/pg_raw.sh - PostgreSQL's own rates for sqlfs's work, without FUSE:
# starts a private cluster in /var/tmp (tests/pg/cluster, the ext4
# directory bench/run uses), runs build/bin/sqlfs_pg_raw (bench/pg_raw.c)
# in a fresh database, and removes the cluster.
#
#   bench/pg_raw.sh [-B BUILD_DIR] [--sync]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$here/../build
[ "${1:-}" = -B ] && { build=$2; shift 2; }
raw=$build/bin/sqlfs_pg_raw
[ -x "$raw" ] || { echo "pg_raw.sh: $raw is missing (cmake --build)" >&2; exit 2; }
dir=$(mktemp -d /var/tmp/fsp-pg-raw.XXXXXX)
rmdir "$dir"
trap 'timeout 120 "$here/../tests/pg/cluster" stop "$dir"' EXIT
timeout 180 "$here/../tests/pg/cluster" start "$dir" >/dev/null
conn=$("$here/../tests/pg/cluster" url "$dir")
timeout 30 createdb -h "$dir/sock" -U fsp fsp_raw
timeout 600 "$raw" "$conn dbname=fsp_raw" "$@"
