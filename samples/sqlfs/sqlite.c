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
 * - Statements are prepared once, at open, and reset after each use
 *   (sqlite_statements.c); opening and closing are in sqlite_open.c.
 */
#include "sqlite_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

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
    if (statvfs(b->dir, &vfs) == 0) {
        /* The database file is part of the host's used space, so the
         * host's size bounds it and its reusable pages. */
        out->free_bytes += (uint64_t)vfs.f_bavail * vfs.f_frsize;
        out->total_bytes = (uint64_t)vfs.f_blocks * vfs.f_frsize;
    }
    if (out->total_bytes < out->used_bytes + out->free_bytes)
        out->total_bytes = out->used_bytes + out->free_bytes;
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

const struct sqlfs_backend_ops sqlfs_sqlite_ops = {
    .open = sqlite_backend_open,
    .close = sqlite_backend_close,
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
