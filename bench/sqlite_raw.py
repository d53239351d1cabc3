#!/usr/bin/env python3
"""bench/sqlite_raw.py - what SQLite itself takes, without FUSE, for the
work sqlfs asks of it: the yardstick of issue 13's targets.

    bench/sqlite_raw.py [DIR] [--sync NORMAL|FULL]

In a fresh database in DIR (default /var/tmp, the ext4 directory bench/run
uses), in WAL mode as sqlfs runs it, one transaction each:
  - 2048 chunk upserts of 64 KiB (sqlfs's chunk size and statement):
    MB/s, to compare with fsbench's rdwr_*_write_large on sqlfs;
  - 5000 one-row inode inserts: transactions/s, to compare with
    file_create.
Python's sqlite3 module runs on Debian's libsqlite3, the library sqlfs
links. The database is removed afterwards.
"""
import argparse
import os
import sqlite3
import tempfile
import time

CHUNK = 65536


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir", nargs="?", default="/var/tmp")
    ap.add_argument("--sync", default="NORMAL", choices=["NORMAL", "FULL"])
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sqlite-raw.", dir=args.dir) as d:
        db = sqlite3.connect(os.path.join(d, "raw.sqlite"), isolation_level=None)
        db.execute("PRAGMA journal_mode = WAL")
        db.execute("PRAGMA synchronous = " + args.sync)
        db.execute("CREATE TABLE chunks (ino INTEGER NOT NULL, idx INTEGER NOT NULL,"
                   " data BLOB NOT NULL, UNIQUE (ino, idx))")
        db.execute("CREATE TABLE inodes (ino INTEGER PRIMARY KEY, mode INTEGER NOT NULL,"
                   " size INTEGER NOT NULL)")
        blob = os.urandom(CHUNK)
        start = time.monotonic()
        for i in range(2048):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO chunks VALUES (1, ?, ?) ON CONFLICT (ino, idx)"
                       " DO UPDATE SET data = excluded.data", (i, blob))
            db.execute("COMMIT")
        write_mb = 2048 * CHUNK / (time.monotonic() - start) / 1e6
        start = time.monotonic()
        for _ in range(5000):
            db.execute("BEGIN IMMEDIATE")
            db.execute("INSERT INTO inodes (mode, size) VALUES (?, 0)", (0o100644,))
            db.execute("COMMIT")
        inserts = 5000 / (time.monotonic() - start)
        db.close()
    print("sqlite_raw: synchronous=%s: %.0f MB/s of 64 KiB chunk transactions,"
          " %.0f one-row insert transactions/s" % (args.sync, write_mb, inserts))


if __name__ == "__main__":
    main()
