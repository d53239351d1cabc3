/**
 * @file pg_sql.c
 * The SQL of the PostgreSQL backend: one prepared statement per purpose
 * (enum pg_stmt), prepared on each connection of the pool when it opens.
 *
 * No statement fails for an expected reason (a name already taken, a row
 * already there): a failed statement aborts a PostgreSQL transaction,
 * where SQLite's would go on. Inserts that may meet their key say ON
 * CONFLICT, and pg.c reads the rows they changed instead.
 */
#include "pg_internal.h"

#define INODE_COLUMNS                                                        \
    "ino, mode, uid, gid, nlink, rdev, size, atime_s, atime_ns, mtime_s, "  \
    "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns"

const char *const pg_stmt_sql[PG_STMT_COUNT] = {
    [PG_INODE_GET] = "SELECT " INODE_COLUMNS " FROM inodes WHERE ino = $1",
    [PG_INODE_UPDATE] =
        "UPDATE inodes SET mode = $2, uid = $3, gid = $4, nlink = $5, "
        "rdev = $6, size = $7, atime_s = $8, atime_ns = $9, mtime_s = $10, "
        "mtime_ns = $11, ctime_s = $12, ctime_ns = $13, btime_s = $14, "
        "btime_ns = $15 WHERE ino = $1",
    [PG_INODE_INSERT] =
        "INSERT INTO inodes (mode, uid, gid, nlink, rdev, size, atime_s, "
        "atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, "
        "target) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, "
        "$13, $14, $15) RETURNING ino",
    /* One round trip for the inode and everything that hangs on it. */
    [PG_INODE_DELETE] =
        "WITH c AS (DELETE FROM chunks WHERE ino = $1), "
        "x AS (DELETE FROM xattrs WHERE ino = $1), "
        "o AS (DELETE FROM orphans WHERE ino = $1) "
        "DELETE FROM inodes WHERE ino = $1",
    [PG_LINK_TARGET] = "SELECT target FROM inodes WHERE ino = $1",
    [PG_ENTRY_FIND] = "SELECT ino FROM dirents WHERE parent = $1 AND "
                      "name = $2",
    [PG_ENTRY_INSERT] = "INSERT INTO dirents (parent, name, ino) VALUES ($1, "
                        "$2, $3) ON CONFLICT DO NOTHING",
    [PG_ENTRY_RETARGET] = "UPDATE dirents SET ino = $3 WHERE parent = $1 AND "
                          "name = $2",
    [PG_ENTRY_DELETE] = "DELETE FROM dirents WHERE parent = $1 AND name = $2",
    [PG_ENTRY_PARENT] = "SELECT parent FROM dirents WHERE ino = $1 LIMIT 1",
    /* A page of a listing at a time: pg.c asks for the next page after the
     * last name while its visitor wants more. */
    [PG_ENTRY_LIST] =
        "SELECT d.name, i.ino, i.mode, i.uid, i.gid, i.nlink, i.rdev, "
        "i.size, i.atime_s, i.atime_ns, i.mtime_s, i.mtime_ns, i.ctime_s, "
        "i.ctime_ns, i.btime_s, i.btime_ns FROM dirents d JOIN inodes i ON "
        "i.ino = d.ino WHERE d.parent = $1 AND d.name > $2 ORDER BY d.name "
        "LIMIT 256",
    /* Every name of a directory, for a case-insensitive match (pg.c). */
    [PG_ENTRY_NAMES] = "SELECT name FROM dirents WHERE parent = $1",
    [PG_CHUNK_READ] = "SELECT data FROM chunks WHERE ino = $1 AND idx = $2",
    [PG_CHUNK_WRITE] = "INSERT INTO chunks (ino, idx, data) VALUES ($1, $2, "
                       "$3) ON CONFLICT (ino, idx) DO UPDATE SET "
                       "data = excluded.data",
    [PG_CHUNK_DELETE] = "DELETE FROM chunks WHERE ino = $1 AND idx >= $2 "
                        "AND idx <= $3",
    [PG_CHUNK_BYTES] = "SELECT coalesce(sum(length(data)), 0)::bigint FROM "
                       "chunks WHERE ino = $1",
    [PG_XATTR_GET] = "SELECT value FROM xattrs WHERE ino = $1 AND name = $2",
    [PG_XATTR_SET] = "INSERT INTO xattrs (ino, name, value) VALUES ($1, $2, "
                     "$3) ON CONFLICT (ino, name) DO UPDATE SET "
                     "value = excluded.value",
    [PG_XATTR_REMOVE] = "DELETE FROM xattrs WHERE ino = $1 AND name = $2",
    [PG_XATTR_LIST] = "SELECT name FROM xattrs WHERE ino = $1 ORDER BY name",
    [PG_ORPHAN_ADD] = "INSERT INTO orphans (ino) VALUES ($1) ON CONFLICT "
                      "DO NOTHING",
    [PG_ORPHAN_NEXT] = "SELECT ino FROM orphans WHERE ino > $1 ORDER BY ino "
                       "LIMIT 1",
    /* length() of an out-of-line bytea reads its pointer, not its bytes:
     * one pass over the chunks' rows. */
    [PG_USAGE] = "SELECT (SELECT count(*) FROM inodes), (SELECT "
                 "coalesce(sum(length(data)), 0)::bigint FROM chunks)",
};
