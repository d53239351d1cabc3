/**
 * @file sqlite_statements.c
 * The SQL of the SQLite backend: one statement per purpose (enum
 * stmt_id), prepared once when the database opens and reset after each
 * use.
 */
#include "sqlite_internal.h"

#include <fsp/fsp.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#define INODE_COLUMNS                                                        \
    "ino, mode, uid, gid, nlink, rdev, size, atime_s, atime_ns, mtime_s, "  \
    "mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns"

static const char *const stmt_sql[ST_COUNT] = {
    [ST_BEGIN_READ] = "BEGIN",
    [ST_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_INODE_GET] = "SELECT " INODE_COLUMNS " FROM inodes WHERE ino = ?1",
    [ST_INODE_UPDATE] =
        "UPDATE inodes SET mode = ?2, uid = ?3, gid = ?4, nlink = ?5, "
        "rdev = ?6, size = ?7, atime_s = ?8, atime_ns = ?9, mtime_s = ?10, "
        "mtime_ns = ?11, ctime_s = ?12, ctime_ns = ?13, btime_s = ?14, "
        "btime_ns = ?15 WHERE ino = ?1",
    [ST_INODE_INSERT] =
        "INSERT INTO inodes (mode, uid, gid, nlink, rdev, size, atime_s, "
        "atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns, btime_s, btime_ns, "
        "target) VALUES (?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?14, ?15, ?16)",
    [ST_INODE_DELETE] = "DELETE FROM inodes WHERE ino = ?1",
    [ST_INODE_DELETE_CHUNKS] = "DELETE FROM chunks WHERE ino = ?1",
    [ST_INODE_DELETE_XATTRS] = "DELETE FROM xattrs WHERE ino = ?1",
    [ST_INODE_DELETE_ORPHAN] = "DELETE FROM orphans WHERE ino = ?1",
    [ST_LINK_TARGET] = "SELECT target FROM inodes WHERE ino = ?1",
    [ST_ENTRY_FIND] = "SELECT ino FROM dirents WHERE parent = ?1 AND name = ?2",
    [ST_ENTRY_INSERT] = "INSERT INTO dirents (parent, name, ino) "
                        "VALUES (?1, ?2, ?3)",
    [ST_ENTRY_RETARGET] = "UPDATE dirents SET ino = ?3 "
                          "WHERE parent = ?1 AND name = ?2",
    [ST_ENTRY_DELETE] = "DELETE FROM dirents WHERE parent = ?1 AND name = ?2",
    [ST_ENTRY_PARENT] = "SELECT parent FROM dirents WHERE ino = ?1 LIMIT 1",
    [ST_ENTRY_LIST] =
        "SELECT d.name, i.ino, i.mode, i.uid, i.gid, i.nlink, i.rdev, "
        "i.size, i.atime_s, i.atime_ns, i.mtime_s, i.mtime_ns, i.ctime_s, "
        "i.ctime_ns, i.btime_s, i.btime_ns FROM dirents d JOIN inodes i ON "
        "i.ino = d.ino WHERE d.parent = ?1 AND d.name > ?2 ORDER BY d.name",
    [ST_CHUNK_READ] = "SELECT data FROM chunks WHERE ino = ?1 AND idx = ?2",
    [ST_CHUNK_WRITE] = "INSERT INTO chunks (ino, idx, data) VALUES (?1, ?2, "
                       "?3) ON CONFLICT (ino, idx) DO UPDATE SET "
                       "data = excluded.data",
    [ST_CHUNK_DELETE] = "DELETE FROM chunks WHERE ino = ?1 AND idx >= ?2 "
                        "AND idx <= ?3",
    [ST_CHUNK_BYTES] = "SELECT coalesce(sum(length(data)), 0) FROM chunks "
                       "WHERE ino = ?1",
    [ST_XATTR_GET] = "SELECT value FROM xattrs WHERE ino = ?1 AND name = ?2",
    [ST_XATTR_SET] = "INSERT INTO xattrs (ino, name, value) VALUES (?1, ?2, "
                     "?3) ON CONFLICT (ino, name) DO UPDATE SET "
                     "value = excluded.value",
    [ST_XATTR_REMOVE] = "DELETE FROM xattrs WHERE ino = ?1 AND name = ?2",
    [ST_XATTR_LIST] = "SELECT name FROM xattrs WHERE ino = ?1 ORDER BY name",
    [ST_ORPHAN_ADD] = "INSERT OR IGNORE INTO orphans (ino) VALUES (?1)",
    [ST_ORPHAN_NEXT] = "SELECT ino FROM orphans WHERE ino > ?1 "
                       "ORDER BY ino LIMIT 1",
    [ST_INODE_COUNT] = "SELECT count(*) FROM inodes",
    [ST_PAGE_COUNT] = "PRAGMA page_count",
    [ST_FREELIST_COUNT] = "PRAGMA freelist_count",
    [ST_PAGE_SIZE] = "PRAGMA page_size",
};

/* The statements that find an entry by name, on a case-insensitive
 * volume: every entry of the directory is compared (fsp_name_eq()), since
 * the index orders names byte by byte. */
static const char *const stmt_sql_ci[ST_COUNT] = {
    [ST_ENTRY_FIND] = "SELECT ino FROM dirents WHERE parent = ?1 AND "
                      "fsp_name_eq(name, ?2)",
    [ST_ENTRY_RETARGET] = "UPDATE dirents SET ino = ?3 WHERE parent = ?1 "
                          "AND fsp_name_eq(name, ?2)",
    [ST_ENTRY_DELETE] = "DELETE FROM dirents WHERE parent = ?1 AND "
                        "fsp_name_eq(name, ?2)",
};

/* Copy a name argument of fsp_name_eq() into @p out, NUL-terminated.
 * @return false if it is longer than any name */
static bool name_arg(sqlite3_value *v, char out[NAME_MAX + 1])
{
    int len = sqlite3_value_bytes(v);
    const void *data = sqlite3_value_blob(v);

    if (len > NAME_MAX)
        return false;
    if (len > 0)
        memcpy(out, data, (size_t)len);
    out[len] = 0;
    return true;
}

/* SQL fsp_name_eq(a, b): 1 if the names are one on a case-insensitive
 * volume, by fsp's own folding. */
static void name_eq(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    char a[NAME_MAX + 1], b[NAME_MAX + 1];

    (void)argc;
    sqlite3_result_int(ctx, name_arg(argv[0], a) && name_arg(argv[1], b) &&
                                fsp_name_compare(a, b, true) == 0);
}

int sqlite_prepare_statements(struct sqlite_backend *b, char *msg,
                              size_t size)
{
    const char *sql;
    int i, rc;

    rc = sqlite3_create_function(b->db, "fsp_name_eq", 2,
                                 SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL,
                                 name_eq, NULL, NULL);
    for (i = 0; i < ST_COUNT && rc == SQLITE_OK; i++) {
        sql = b->case_insensitive && stmt_sql_ci[i] ? stmt_sql_ci[i]
                                                    : stmt_sql[i];
        rc = sqlite3_prepare_v3(b->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                                &b->stmt[i], NULL);
        if (rc != SQLITE_OK)
            snprintf(msg, size, "%s: cannot prepare \"%s\": %s", b->path,
                     sql, sqlite3_errmsg(b->db));
    }
    return rc == SQLITE_OK ? 0 : -EIO;
}
