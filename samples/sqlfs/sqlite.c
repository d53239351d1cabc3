/**
 * @file sqlite.c
 * The SQLite backend of sqlfs (backend.h): one database file, one
 * connection, in WAL mode.
 *
 * - One connection serves every worker thread: a mutex, taken by begin()
 *   and given back by commit() or rollback(), makes the transactions run
 *   one after another. WAL would let readers run beside the writer on
 *   connections of their own; one connection keeps the sample simple and
 *   costs the parallelism of reads (docs/SQLFS.md, limits).
 * - Durability: synchronous=NORMAL by default. A commit is then atomic
 *   and survives the death of the process (it is in the WAL file, in the
 *   kernel's page cache) but not of the machine until the WAL is synced;
 *   sync() syncs it with a checkpoint, which fsync(2), fdatasync(2) and
 *   syncfs(2) call. With full_sync (-o sync=full) every commit syncs the
 *   WAL (synchronous=FULL) and sync() has nothing left to do.
 * - The file is the volume's own: flock(LOCK_EX) on it for a mount
 *   (LOCK_SH for --check) refuses a second user with a message. The lock
 *   goes with the process, even when it is killed.
 * - Statements are prepared once, at open, and reset after each use.
 */
#define _GNU_SOURCE

#include "backend.h"
#include "schema.h"

#include <fsp/fsp.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* The prepared statements, by purpose. */
enum stmt_id {
    ST_BEGIN_READ,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INODE_GET,
    ST_INODE_UPDATE,
    ST_INODE_INSERT,
    ST_INODE_DELETE,
    ST_INODE_DELETE_CHUNKS,
    ST_INODE_DELETE_XATTRS,
    ST_INODE_DELETE_ORPHAN,
    ST_LINK_TARGET,
    ST_ENTRY_FIND,
    ST_ENTRY_INSERT,
    ST_ENTRY_RETARGET,
    ST_ENTRY_DELETE,
    ST_ENTRY_PARENT,
    ST_ENTRY_LIST,
    ST_CHUNK_READ,
    ST_CHUNK_WRITE,
    ST_CHUNK_DELETE,
    ST_CHUNK_BYTES,
    ST_XATTR_GET,
    ST_XATTR_SET,
    ST_XATTR_REMOVE,
    ST_XATTR_LIST,
    ST_ORPHAN_ADD,
    ST_ORPHAN_NEXT,
    ST_INODE_COUNT,
    ST_PAGE_COUNT,
    ST_FREELIST_COUNT,
    ST_PAGE_SIZE,
    ST_COUNT
};

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

struct sqlfs_txn {
    struct sqlite_backend *b;
};

struct sqlite_backend {
    struct sqlfs_backend base; /* first: the pointer fs_ops.c holds */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    pthread_mutex_t lock;      /* one transaction at a time */
    struct sqlfs_txn txn;      /* the one that runs */
    char *path;
    char *dir;                 /* the file's directory, for statfs */
    int lock_fd;               /* holds the flock */
    bool full_sync;
    bool read_only;
    bool case_insensitive;
};

static struct sqlite_backend *sqlite_of(struct sqlfs_backend *b)
{
    return (struct sqlite_backend *)b;
}

/* ---- errors ---- */

/* The errno for an SQLite result code; logs what is unexpected. */
static int error_of(struct sqlite_backend *b, int rc)
{
    switch (rc & 0xff) {
    case SQLITE_OK:
    case SQLITE_ROW:
    case SQLITE_DONE:
        return 0;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_TOOBIG:
        return -E2BIG;
    default:
        fprintf(stderr, "sqlfs: %s: sqlite: %s (code %d)\n", b->path,
                sqlite3_errmsg(b->db), rc);
        return -EIO;
    }
}

/* ---- statements ---- */

/* The statement @p id, reset and with its bindings cleared. */
static sqlite3_stmt *stmt(struct sqlite_backend *b, enum stmt_id id)
{
    sqlite3_stmt *s = b->stmt[id];

    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
    return s;
}

/* Step a statement that returns no row (or whose rows do not matter). */
static int run(struct sqlite_backend *b, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);
    int err = error_of(b, rc);

    sqlite3_reset(s);
    return err;
}

/* Step once: 0 with a row, -ENOENT without, or the error. The caller
 * reads the columns, then resets (stmt() does it at the next use). */
static int step_row(struct sqlite_backend *b, sqlite3_stmt *s)
{
    int rc = sqlite3_step(s);

    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return -ENOENT;
    return error_of(b, rc);
}

static void bind_u64(sqlite3_stmt *s, int i, uint64_t v)
{
    sqlite3_bind_int64(s, i, v > INT64_MAX ? INT64_MAX : (sqlite3_int64)v);
}

static void bind_name(sqlite3_stmt *s, int i, const char *name)
{
    sqlite3_bind_blob(s, i, name, (int)strlen(name), SQLITE_STATIC);
}

/* Bind the fields of @p in to parameters 1..15 (INODE_COLUMNS' order). */
static void bind_inode(sqlite3_stmt *s, const struct sqlfs_inode *in)
{
    bind_u64(s, 1, in->ino);
    sqlite3_bind_int64(s, 2, in->mode);
    sqlite3_bind_int64(s, 3, in->uid);
    sqlite3_bind_int64(s, 4, in->gid);
    sqlite3_bind_int64(s, 5, in->nlink);
    sqlite3_bind_int64(s, 6, in->rdev);
    bind_u64(s, 7, in->size);
    sqlite3_bind_int64(s, 8, in->atime.tv_sec);
    sqlite3_bind_int64(s, 9, in->atime.tv_nsec);
    sqlite3_bind_int64(s, 10, in->mtime.tv_sec);
    sqlite3_bind_int64(s, 11, in->mtime.tv_nsec);
    sqlite3_bind_int64(s, 12, in->ctime.tv_sec);
    sqlite3_bind_int64(s, 13, in->ctime.tv_nsec);
    sqlite3_bind_int64(s, 14, in->btime.tv_sec);
    sqlite3_bind_int64(s, 15, in->btime.tv_nsec);
}

/* Read INODE_COLUMNS from column @p c on. */
static void column_inode(sqlite3_stmt *s, int c, struct sqlfs_inode *out)
{
    out->ino = (uint64_t)sqlite3_column_int64(s, c);
    out->mode = (uint32_t)sqlite3_column_int64(s, c + 1);
    out->uid = (uint32_t)sqlite3_column_int64(s, c + 2);
    out->gid = (uint32_t)sqlite3_column_int64(s, c + 3);
    out->nlink = (uint32_t)sqlite3_column_int64(s, c + 4);
    out->rdev = (uint32_t)sqlite3_column_int64(s, c + 5);
    out->size = (uint64_t)sqlite3_column_int64(s, c + 6);
    out->atime.tv_sec = sqlite3_column_int64(s, c + 7);
    out->atime.tv_nsec = sqlite3_column_int64(s, c + 8);
    out->mtime.tv_sec = sqlite3_column_int64(s, c + 9);
    out->mtime.tv_nsec = sqlite3_column_int64(s, c + 10);
    out->ctime.tv_sec = sqlite3_column_int64(s, c + 11);
    out->ctime.tv_nsec = sqlite3_column_int64(s, c + 12);
    out->btime.tv_sec = sqlite3_column_int64(s, c + 13);
    out->btime.tv_nsec = sqlite3_column_int64(s, c + 14);
}

/* Run the statement @p id, whose one parameter is an inode number. */
static int run_ino(struct sqlite_backend *b, enum stmt_id id, uint64_t ino)
{
    sqlite3_stmt *s = stmt(b, id);

    bind_u64(s, 1, ino);
    return run(b, s);
}

/*
 * Run the statement @p id, whose parameters are an inode number (or
 * another key) and, if @p name is not NULL, a name, and read the integer
 * of its first row. @return 0, -ENOENT without a row
 */
static int select_u64(struct sqlite_backend *b, enum stmt_id id, uint64_t key,
                      const char *name, uint64_t *out)
{
    sqlite3_stmt *s = stmt(b, id);
    int err;

    *out = 0;
    if (sqlite3_bind_parameter_count(s) > 0)
        bind_u64(s, 1, key);
    if (name)
        bind_name(s, 2, name);
    err = step_row(b, s);
    if (err == 0)
        *out = (uint64_t)sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return err;
}

/* ---- transactions ---- */

static int sq_begin(struct sqlfs_backend *base, bool write,
                    struct sqlfs_txn **out)
{
    struct sqlite_backend *b = sqlite_of(base);
    int err;

    *out = NULL;
    if (write && b->read_only)
        return -EROFS;
    pthread_mutex_lock(&b->lock);
    err = run(b, stmt(b, write ? ST_BEGIN_WRITE : ST_BEGIN_READ));
    if (err < 0) {
        pthread_mutex_unlock(&b->lock);
        return err;
    }
    *out = &b->txn;
    return 0;
}

static void sq_rollback(struct sqlfs_txn *t)
{
    struct sqlite_backend *b = t->b;

    if (!sqlite3_get_autocommit(b->db))
        run(b, stmt(b, ST_ROLLBACK));
    pthread_mutex_unlock(&b->lock);
}

static int sq_commit(struct sqlfs_txn *t)
{
    struct sqlite_backend *b = t->b;
    int err = run(b, stmt(b, ST_COMMIT));

    if (err < 0) {
        sq_rollback(t);
        return err;
    }
    pthread_mutex_unlock(&b->lock);
    return 0;
}

static int sq_sync(struct sqlfs_backend *base)
{
    struct sqlite_backend *b = sqlite_of(base);
    int rc;

    if (b->full_sync || b->read_only)
        return 0; /* every commit was synced already */
    /* A checkpoint syncs the WAL first (synchronous=NORMAL syncs it
     * there and only there), then copies it into the database file. */
    pthread_mutex_lock(&b->lock);
    rc = sqlite3_wal_checkpoint_v2(b->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
                                   NULL, NULL);
    pthread_mutex_unlock(&b->lock);
    return error_of(b, rc);
}

/* ---- inodes ---- */

static int sq_inode_get(struct sqlfs_txn *t, uint64_t ino,
                        struct sqlfs_inode *out)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_INODE_GET);
    int err;

    memset(out, 0, sizeof *out);
    bind_u64(s, 1, ino);
    err = step_row(b, s);
    if (err == 0)
        column_inode(s, 0, out);
    sqlite3_reset(s);
    return err;
}

static int sq_inode_update(struct sqlfs_txn *t, const struct sqlfs_inode *in)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_INODE_UPDATE);
    int err;

    bind_inode(s, in);
    err = run(b, s);
    if (err == 0 && sqlite3_changes(b->db) == 0)
        err = -ENOENT;
    return err;
}

static int sq_inode_insert(struct sqlfs_txn *t, struct sqlfs_inode *in,
                           const char *target)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_INODE_INSERT);
    int err;

    bind_inode(s, in); /* ?1, the number, is not in the statement */
    if (target)
        bind_name(s, 16, target);
    err = run(b, s);
    if (err == 0)
        in->ino = (uint64_t)sqlite3_last_insert_rowid(b->db);
    return err;
}

static int sq_inode_delete(struct sqlfs_txn *t, uint64_t ino)
{
    static const enum stmt_id steps[] = {
        ST_INODE_DELETE_CHUNKS, ST_INODE_DELETE_XATTRS,
        ST_INODE_DELETE_ORPHAN, ST_INODE_DELETE};
    size_t i;
    int err = 0;

    for (i = 0; i < sizeof steps / sizeof steps[0] && err == 0; i++)
        err = run_ino(t->b, steps[i], ino);
    return err;
}

/* Copy the blob of column 0 into buf, NUL-terminated;
 * -ENAMETOOLONG if it does not fit. */
static int column_text(sqlite3_stmt *s, char *buf, size_t size)
{
    const void *data = sqlite3_column_blob(s, 0);
    size_t len = (size_t)sqlite3_column_bytes(s, 0);

    if (len >= size)
        return -ENAMETOOLONG;
    if (len)
        memcpy(buf, data, len);
    buf[len] = 0;
    return 0;
}

static int sq_link_target(struct sqlfs_txn *t, uint64_t ino, char *buf,
                          size_t size)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_LINK_TARGET);
    int err;

    bind_u64(s, 1, ino);
    err = step_row(b, s);
    if (err == 0)
        err = column_text(s, buf, size);
    sqlite3_reset(s);
    return err;
}

/* ---- directory entries ---- */

static int sq_entry_find(struct sqlfs_txn *t, uint64_t parent,
                         const char *name, uint64_t *ino)
{
    return select_u64(t->b, ST_ENTRY_FIND, parent, name, ino);
}

/* An entry statement with (parent, name[, ino]); @p missing is what no
 * changed row means. */
static int run_entry(struct sqlfs_txn *t, enum stmt_id id, uint64_t parent,
                     const char *name, uint64_t ino, int missing)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, id);
    int err;

    bind_u64(s, 1, parent);
    bind_name(s, 2, name);
    if (id != ST_ENTRY_DELETE)
        bind_u64(s, 3, ino);
    err = run(b, s);
    if (err == 0 && sqlite3_changes(b->db) == 0)
        err = missing;
    return err;
}

static int sq_entry_insert(struct sqlfs_txn *t, uint64_t parent,
                           const char *name, uint64_t ino)
{
    return run_entry(t, ST_ENTRY_INSERT, parent, name, ino, -EIO);
}

static int sq_entry_retarget(struct sqlfs_txn *t, uint64_t parent,
                             const char *name, uint64_t ino)
{
    return run_entry(t, ST_ENTRY_RETARGET, parent, name, ino, -ENOENT);
}

static int sq_entry_delete(struct sqlfs_txn *t, uint64_t parent,
                           const char *name)
{
    return run_entry(t, ST_ENTRY_DELETE, parent, name, 0, -ENOENT);
}

static int sq_entry_parent(struct sqlfs_txn *t, uint64_t ino,
                           uint64_t *parent)
{
    return select_u64(t->b, ST_ENTRY_PARENT, ino, NULL, parent);
}

static int sq_entry_list(struct sqlfs_txn *t, uint64_t parent,
                         const char *after, sqlfs_entry_fn *fn, void *context)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_ENTRY_LIST);
    struct sqlfs_inode in;
    char name[NAME_MAX + 1];
    int err;

    bind_u64(s, 1, parent);
    bind_name(s, 2, after ? after : "");
    while ((err = step_row(b, s)) == 0) {
        if (column_text(s, name, sizeof name) < 0)
            continue; /* longer than any name fsp passes: skip it */
        column_inode(s, 1, &in);
        if (!fn(context, name, &in))
            break;
    }
    sqlite3_reset(s);
    return err == -ENOENT ? 0 : err;
}

/* ---- data ---- */

static int sq_chunk_read(struct sqlfs_txn *t, uint64_t ino, uint64_t index,
                         void *buf, size_t *length)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_CHUNK_READ);
    size_t len;
    int err;

    *length = 0;
    bind_u64(s, 1, ino);
    bind_u64(s, 2, index);
    err = step_row(b, s);
    if (err == 0) {
        len = (size_t)sqlite3_column_bytes(s, 0);
        if (len > SQLFS_CHUNK_SIZE)
            len = SQLFS_CHUNK_SIZE;
        if (len)
            memcpy(buf, sqlite3_column_blob(s, 0), len);
        *length = len;
    }
    sqlite3_reset(s);
    return err == -ENOENT ? 0 : err;
}

static int sq_chunk_write(struct sqlfs_txn *t, uint64_t ino, uint64_t index,
                          const void *buf, size_t length)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_CHUNK_WRITE);

    bind_u64(s, 1, ino);
    bind_u64(s, 2, index);
    sqlite3_bind_blob(s, 3, length ? buf : "", (int)length, SQLITE_STATIC);
    return run(b, s);
}

static int sq_chunk_delete(struct sqlfs_txn *t, uint64_t ino, uint64_t first,
                           uint64_t last)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_CHUNK_DELETE);

    bind_u64(s, 1, ino);
    bind_u64(s, 2, first);
    bind_u64(s, 3, last);
    return run(b, s);
}

static int sq_chunk_bytes(struct sqlfs_txn *t, uint64_t ino, uint64_t *bytes)
{
    return select_u64(t->b, ST_CHUNK_BYTES, ino, NULL, bytes);
}

/* ---- extended attributes ---- */

static int sq_xattr_get(struct sqlfs_txn *t, uint64_t ino, const char *name,
                        void *buf, size_t size, size_t *length)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_XATTR_GET);
    size_t len;
    int err;

    *length = 0;
    bind_u64(s, 1, ino);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    err = step_row(b, s);
    if (err == -ENOENT)
        err = -ENODATA;
    if (err == 0) {
        len = (size_t)sqlite3_column_bytes(s, 0);
        if (len <= size && len)
            memcpy(buf, sqlite3_column_blob(s, 0), len);
        *length = len;
    }
    sqlite3_reset(s);
    return err;
}

static int sq_xattr_set(struct sqlfs_txn *t, uint64_t ino, const char *name,
                        const void *value, size_t size)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_XATTR_SET);

    bind_u64(s, 1, ino);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 3, size ? value : "", (int)size, SQLITE_STATIC);
    return run(b, s);
}

static int sq_xattr_remove(struct sqlfs_txn *t, uint64_t ino,
                           const char *name)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_XATTR_REMOVE);
    int err;

    bind_u64(s, 1, ino);
    sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    err = run(b, s);
    if (err == 0 && sqlite3_changes(b->db) == 0)
        err = -ENODATA;
    return err;
}

static int sq_xattr_list(struct sqlfs_txn *t, uint64_t ino, sqlfs_name_fn *fn,
                         void *context)
{
    struct sqlite_backend *b = t->b;
    sqlite3_stmt *s = stmt(b, ST_XATTR_LIST);
    int err;

    bind_u64(s, 1, ino);
    while ((err = step_row(b, s)) == 0)
        if (!fn(context, (const char *)sqlite3_column_text(s, 0)))
            break;
    sqlite3_reset(s);
    return err == -ENOENT ? 0 : err;
}

/* ---- orphans, usage, queries ---- */

static int sq_orphan_add(struct sqlfs_txn *t, uint64_t ino)
{
    return run_ino(t->b, ST_ORPHAN_ADD, ino);
}

static int sq_orphan_next(struct sqlfs_txn *t, uint64_t after, uint64_t *ino)
{
    return select_u64(t->b, ST_ORPHAN_NEXT, after, NULL, ino);
}

static int sq_usage(struct sqlfs_txn *t, struct sqlfs_usage *out)
{
    struct sqlite_backend *b = t->b;
    uint64_t pages = 0, free_pages = 0, page_size = 0;
    struct statvfs vfs;
    int err;

    memset(out, 0, sizeof *out);
    err = select_u64(b, ST_INODE_COUNT, 0, NULL, &out->inodes);
    if (err == 0)
        err = select_u64(b, ST_PAGE_COUNT, 0, NULL, &pages);
    if (err == 0)
        err = select_u64(b, ST_FREELIST_COUNT, 0, NULL, &free_pages);
    if (err == 0)
        err = select_u64(b, ST_PAGE_SIZE, 0, NULL, &page_size);
    if (err < 0)
        return err;
    out->used_bytes = (pages - free_pages) * page_size;
    out->free_bytes = free_pages * page_size;
    if (statvfs(b->dir, &vfs) == 0)
        out->free_bytes += (uint64_t)vfs.f_bavail * vfs.f_frsize;
    return 0;
}

static int sq_query(struct sqlfs_txn *t, const char *sql, sqlfs_row_fn *fn,
                    void *context)
{
    struct sqlite_backend *b = t->b;
    const char *values[16];
    sqlite3_stmt *s = NULL;
    int rc, err, n, i;

    rc = sqlite3_prepare_v2(b->db, sql, -1, &s, NULL);
    err = error_of(b, rc);
    if (err < 0)
        goto out;
    n = sqlite3_column_count(s);
    if (n > 16)
        n = 16;
    while ((err = step_row(b, s)) == 0) {
        for (i = 0; i < n; i++)
            values[i] = (const char *)sqlite3_column_text(s, i);
        if (!fn(context, n, values))
            break;
    }
    if (err == -ENOENT)
        err = 0;
out:
    sqlite3_finalize(s);
    return err;
}

/* ---- open and close ---- */

static void sq_close(struct sqlfs_backend *base)
{
    struct sqlite_backend *b = sqlite_of(base);
    int i;

    if (!b)
        return;
    for (i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(b->stmt[i]);
    if (b->db && !b->read_only)
        /* Fold the WAL into the database file: a closed volume is one
         * file again. */
        sqlite3_wal_checkpoint_v2(b->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
                                  NULL, NULL);
    sqlite3_close(b->db);
    if (b->lock_fd >= 0)
        close(b->lock_fd);
    pthread_mutex_destroy(&b->lock);
    free(b->path);
    free(b->dir);
    free(b);
}

/* Take the file's lock: exclusive for a mount, shared for a check. */
static int lock_file(struct sqlite_backend *b,
                     const struct sqlfs_open_options *o, char *msg,
                     size_t size)
{
    int flags = o->read_only ? O_RDONLY : o->create ? O_RDWR | O_CREAT : O_RDWR;
    struct stat st;

    b->lock_fd = open(o->database, flags | O_CLOEXEC, 0600);
    if (b->lock_fd < 0) {
        int e = errno;
        if (e == ENOENT)
            snprintf(msg, size, "%s does not exist", o->database);
        else if (e == EACCES || e == EROFS || e == EPERM)
            snprintf(msg, size,
                     "%s cannot be opened for %s (%s): make the file and "
                     "its directory writable (chmod u+w), or copy the "
                     "database to a writable place",
                     o->database, o->read_only ? "reading" : "writing",
                     strerror(e));
        else
            snprintf(msg, size, "cannot open %s: %s", o->database,
                     strerror(e));
        return -e;
    }
    if (fstat(b->lock_fd, &st) == 0 && !S_ISREG(st.st_mode)) {
        snprintf(msg, size, "%s is not a regular file", o->database);
        return -EINVAL;
    }
    if (flock(b->lock_fd, (o->exclusive ? LOCK_EX : LOCK_SH) | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            snprintf(msg, size,
                     "%s is in use by another sqlfs (mounted, or being "
                     "checked): unmount it there first; one SQLite "
                     "database serves one mount",
                     o->database);
        else
            snprintf(msg, size, "cannot lock %s: %s", o->database,
                     strerror(e));
        return e == EWOULDBLOCK ? -EBUSY : -e;
    }
    return 0;
}

/* The WAL and its index live beside the file: the directory must take new
 * files too. */
static int check_writable(struct sqlite_backend *b, char *msg, size_t size)
{
    if (access(b->path, W_OK) == 0 && access(b->dir, W_OK | X_OK) == 0)
        return 0;
    snprintf(msg, size,
             "%s is read-only (%s): sqlfs needs to write the file and to "
             "create its journal (%s-wal) beside it; make both writable "
             "(chmod u+w), or copy the database to a writable directory",
             b->path, strerror(errno), b->path);
    return -EROFS;
}

/* journal_mode, synchronous and the other settings of a connection. */
static int configure(struct sqlite_backend *b, char *msg, size_t size)
{
    char sql[128];
    sqlite3_stmt *s = NULL;
    const char *mode;
    int rc;

    sqlite3_busy_timeout(b->db, 5000);
    if (b->read_only)
        return 0;
    rc = sqlite3_prepare_v2(b->db, "PRAGMA journal_mode = WAL", -1, &s, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(s);
    mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    if (!mode || strcmp(mode, "wal") != 0) {
        snprintf(msg, size, "%s: cannot switch the database to WAL mode: %s",
                 b->path, rc == SQLITE_ROW ? mode : sqlite3_errmsg(b->db));
        sqlite3_finalize(s);
        return rc == SQLITE_NOTADB ? -ENOTSUP : -EIO;
    }
    sqlite3_finalize(s);
    snprintf(sql, sizeof sql,
             "PRAGMA synchronous = %s; PRAGMA foreign_keys = OFF;",
             b->full_sync ? "FULL" : "NORMAL");
    rc = sqlite3_exec(b->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        snprintf(msg, size, "%s: %s", b->path, sqlite3_errmsg(b->db));
        return -EIO;
    }
    return 0;
}

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

static int prepare_all(struct sqlite_backend *b, char *msg, size_t size)
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

static int sq_open(const struct sqlfs_open_options *o, char *msg, size_t size,
                   struct sqlfs_backend **out)
{
    struct sqlite_backend *b;
    char *copy;
    int rc, err;

    *out = NULL;
    msg[0] = 0;
    b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->base.ops = &sqlfs_sqlite_ops;
    b->txn.b = b;
    b->lock_fd = -1;
    b->full_sync = o->full_sync;
    b->read_only = o->read_only;
    b->case_insensitive = o->case_insensitive;
    pthread_mutex_init(&b->lock, NULL);
    b->path = strdup(o->database);
    copy = strdup(o->database);
    b->dir = copy ? strdup(dirname(copy)) : NULL;
    free(copy);
    if (!b->path || !b->dir) {
        err = -ENOMEM;
        goto out;
    }
    err = lock_file(b, o, msg, size);
    if (err < 0)
        goto out;
    if (!o->read_only) {
        err = check_writable(b, msg, size);
        if (err < 0)
            goto out;
    }
    rc = sqlite3_open_v2(o->database, &b->db,
                         (o->read_only ? SQLITE_OPEN_READONLY
                                       : SQLITE_OPEN_READWRITE) |
                             SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        snprintf(msg, size, "cannot open %s: %s", o->database,
                 b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc));
        err = -EIO;
        goto out;
    }
    err = sqlfs_schema_prepare(b->db, o->database, o->create, msg, size);
    if (err < 0)
        goto out;
    err = configure(b, msg, size);
    if (err < 0)
        goto out;
    err = prepare_all(b, msg, size);
out:
    if (err < 0) {
        if (err == -ENOMEM && !msg[0])
            snprintf(msg, size, "out of memory");
        sq_close(&b->base);
        return err;
    }
    *out = &b->base;
    return 0;
}

const struct sqlfs_backend_ops sqlfs_sqlite_ops = {
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .sync = sq_sync,
    .inode_get = sq_inode_get,
    .inode_update = sq_inode_update,
    .inode_insert = sq_inode_insert,
    .inode_delete = sq_inode_delete,
    .link_target = sq_link_target,
    .entry_find = sq_entry_find,
    .entry_insert = sq_entry_insert,
    .entry_retarget = sq_entry_retarget,
    .entry_delete = sq_entry_delete,
    .entry_parent = sq_entry_parent,
    .entry_list = sq_entry_list,
    .chunk_read = sq_chunk_read,
    .chunk_write = sq_chunk_write,
    .chunk_delete = sq_chunk_delete,
    .chunk_bytes = sq_chunk_bytes,
    .xattr_get = sq_xattr_get,
    .xattr_set = sq_xattr_set,
    .xattr_remove = sq_xattr_remove,
    .xattr_list = sq_xattr_list,
    .orphan_add = sq_orphan_add,
    .orphan_next = sq_orphan_next,
    .usage = sq_usage,
    .query = sq_query,
};
