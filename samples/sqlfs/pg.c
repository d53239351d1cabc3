/**
 * @file pg.c
 * The PostgreSQL backend of sqlfs (backend.h): one database is one
 * volume, which any number of mounts may share.
 *
 * - Transactions run side by side on a pool of PG_POOL_SIZE connections
 *   (pg_conn.c). A reading one is REPEATABLE READ READ ONLY: one snapshot.
 *   A writing one first takes a transaction-scoped advisory lock, the same
 *   for every mount, so writers run one at a time across all mounts, each
 *   seeing what the last committed; readers never wait. The result is
 *   serializable without retries (docs/SQLFS.md, limits).
 * - Every statement is prepared (pg_sql.c), its parameters and results in
 *   binary, so that bytes go to and fro as they are.
 * - Durability: sync=full commits with synchronous_commit=on, so a commit
 *   is on the server's disk when it returns. By default commits are
 *   asynchronous on the server (they survive the death of sqlfs, and of
 *   the server unless its machine dies in the next few hundred ms), and
 *   sync(), which fsync(2) and fdatasync(2) call, commits a transaction
 *   that writes WAL synchronously: the server flushes its WAL in order, so
 *   every earlier commit is durable when it returns.
 * - A writing transaction lists what it changed and commits with a
 *   NOTIFY, so that the other mounts drop what their kernels cached
 *   (pg_notify.c).
 * - Reads of file data do not hold a worker: read_async() (pg_async.c)
 *   answers them later, from libpq's asynchronous API.
 * - Locks (lock_test(), lock_set()) are rows too, exclusive across the
 *   mounts and gone with a dead mount (pg_lock.c).
 */
#include "pg_internal.h"

#include <fsp/fsp.h>

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows of a page of a directory listing (the LIMIT of PG_ENTRY_LIST). */
#define PG_LIST_PAGE 256

/* Longest name of an extended attribute (XATTR_NAME_MAX). */
#define XATTR_NAME_LONGEST 255

static struct pg_backend *pg_of(struct sqlfs_backend *b)
{
    return (struct pg_backend *)b;
}

/* ---- parameters and results ---- */

/* The parameters of one statement: integers as text, bytes as binary. */
struct params {
    int n;
    const char *value[16];
    int length[16];
    int format[16];
    char text[16][24];
};

static void p_u64(struct params *p, uint64_t v)
{
    snprintf(p->text[p->n], sizeof p->text[0], "%lld",
             v > INT64_MAX ? (long long)INT64_MAX : (long long)v);
    p->value[p->n] = p->text[p->n];
    p->length[p->n] = 0;
    p->format[p->n++] = 0;
}

static void p_i64(struct params *p, int64_t v)
{
    snprintf(p->text[p->n], sizeof p->text[0], "%lld", (long long)v);
    p->value[p->n] = p->text[p->n];
    p->length[p->n] = 0;
    p->format[p->n++] = 0;
}

static void p_bytes(struct params *p, const void *data, size_t len)
{
    p->value[p->n] = len ? data : "";
    p->length[p->n] = (int)len;
    p->format[p->n++] = 1;
}

static void p_text(struct params *p, const char *s)
{
    p->value[p->n] = s;
    p->length[p->n] = 0;
    p->format[p->n++] = 0;
}

/* ---- the pipeline of a transaction ----
 *
 * A transaction's statements go to the server in libpq's pipeline mode,
 * so that what need not wait for its answer goes with what must: BEGIN
 * (and the writers' lock) goes with the first statement whose result is
 * needed, and the statements whose result is only "it worked" (updates,
 * inserts, deletes: defer()) go with the next one that is, or with the
 * COMMIT. A write of one chunk is then two round trips (begin, lock and
 * the inode; the chunk, the inode's update, notify and commit), not five.
 * A deferred statement's error comes out at that later point, as the
 * error it would have had (missing: what no row changed means); the
 * server skips the rest of the pipeline, and the transaction rolls back.
 */

/* Statements a transaction may have in flight before it reads them. */
#define PG_PIPELINE_ROOM (PG_PIPELINE_MAX - 4)

/* Send prepared statement @p id, or @p sql (text parameters @p p, which
 * may be NULL), into the pipeline. @p missing: the error if it changes no
 * row (0: any count will do). @return 0 or -errno */
static int send(struct sqlfs_txn *t, enum pg_stmt id, const char *sql,
                const struct params *p, int missing)
{
    PGconn *conn = t->slot->conn;
    char name[16];
    int ok;

    if (PQpipelineStatus(conn) == PQ_PIPELINE_OFF &&
        !PQenterPipelineMode(conn))
        return pg_error_of(t->b, conn, NULL);
    if (sql) {
        ok = PQsendQueryParams(conn, sql, p ? p->n : 0, NULL,
                               p ? p->value : NULL, NULL, NULL, 0);
    } else {
        snprintf(name, sizeof name, "s%d", (int)id);
        ok = PQsendQueryPrepared(conn, name, p->n, p->value, p->length,
                                 p->format, 1);
    }
    if (!ok)
        return pg_error_of(t->b, conn, NULL);
    t->missing[t->pending++] = missing;
    return 0;
}

/* BEGIN, and for a writer the lock of writers, into the pipeline. */
static int send_begin(struct sqlfs_txn *t)
{
    struct params p = {0};
    int err;

    err = send(t, 0,
               t->write ? "BEGIN"
                        : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
               NULL, 0);
    if (err == 0 && t->write) {
        p_i64(&p, PG_WRITE_LOCK_KEY);
        err = send(t, 0, "SELECT pg_advisory_xact_lock($1::bigint)", &p, 0);
    }
    if (err == 0)
        t->begun = true;
    return err;
}

/*
 * Sync the pipeline and read each result in it, in order: the first
 * error wins (the server skipped what came after it). *last, if asked,
 * gets the result of the last statement sent. Leaves pipeline mode.
 * @return 0 or -errno
 */
static int collect(struct sqlfs_txn *t, PGresult **last)
{
    PGconn *conn = t->slot->conn;
    ExecStatusType st;
    PGresult *r;
    int i = 0, err = 0;

    if (last)
        *last = NULL;
    if (!PQpipelineSync(conn)) {
        err = pg_error_of(t->b, conn, NULL);
        goto out;
    }
    for (;;) {
        r = PQgetResult(conn);
        if (!r) { /* the end of one statement's results, or a break */
            if (PQstatus(conn) == CONNECTION_OK)
                continue;
            if (err == 0)
                err = pg_error_of(t->b, conn, NULL);
            break;
        }
        st = PQresultStatus(r);
        if (st == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            break;
        }
        if (err == 0 && st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK)
            err = pg_error_of(t->b, conn, r);
        else if (err == 0 && i < t->pending && t->missing[i] &&
                 strtol(PQcmdTuples(r), NULL, 10) == 0)
            err = t->missing[i];
        if (last && err == 0 && i == t->pending - 1) {
            *last = r;
            r = NULL;
        }
        PQclear(r);
        i++;
    }
out:
    t->pending = 0;
    if (PQstatus(conn) == CONNECTION_OK)
        PQexitPipelineMode(conn);
    if (err < 0 && last) {
        PQclear(*last);
        *last = NULL;
    }
    return err;
}

int pg_txn_ready(struct sqlfs_txn *t)
{
    int err = 0;

    if (!t->begun)
        err = send_begin(t);
    if (err == 0 && t->pending)
        err = collect(t, NULL);
    return err;
}

/* Run prepared statement @p id, with what waits in the pipeline; *r is
 * its result (binary), NULL on failure. @return 0 or -errno */
static int run(struct sqlfs_txn *t, enum pg_stmt id, const struct params *p,
               PGresult **r)
{
    bool first;
    int attempt, err;

    for (attempt = 0;; attempt++) {
        first = !t->begun;
        err = first ? send_begin(t) : 0;
        if (err == 0)
            err = send(t, id, NULL, p, 0);
        if (err == 0)
            err = collect(t, r);
        if (err == 0 || !first || attempt == 2 ||
            PQstatus(t->slot->conn) == CONNECTION_OK)
            return err;
        /* The connection broke while idle (the server restarted) and
         * nothing of the transaction happened: begin it again on another,
         * reconnected within the time bound. */
        pg_slot_give(t->b, t->slot, true);
        t->slot = NULL;
        t->begun = false;
        err = pg_slot_take(t->b, &t->slot);
        if (err < 0)
            return err;
    }
}

/* Send a statement whose result is only whether it worked, to be read
 * with the next one that is waited for (or the commit). */
static int defer(struct sqlfs_txn *t, enum pg_stmt id, const struct params *p,
                 int missing)
{
    int err = 0;

    if (t->pending >= PG_PIPELINE_ROOM)
        err = collect(t, NULL);
    if (err == 0 && !t->begun)
        err = send_begin(t);
    if (err == 0)
        err = send(t, id, NULL, p, missing);
    return err;
}

/* Run a statement whose rows do not matter. @p changed: rows it touched */
static int run_count(struct sqlfs_txn *t, enum pg_stmt id,
                     const struct params *p, long *changed)
{
    PGresult *r;
    int err = run(t, id, p, &r);

    if (changed)
        *changed = err == 0 ? strtol(PQcmdTuples(r), NULL, 10) : 0;
    PQclear(r);
    return err;
}

/* A bigint of a binary result. */
static uint64_t col_u64(const PGresult *r, int row, int col)
{
    const unsigned char *v = (const unsigned char *)PQgetvalue(r, row, col);
    uint64_t x = 0;
    int i;

    if (PQgetlength(r, row, col) != 8)
        return 0;
    for (i = 0; i < 8; i++)
        x = x << 8 | v[i];
    return x;
}

/* Read INODE_COLUMNS from column @p c on. */
static void col_inode(const PGresult *r, int row, int c,
                      struct sqlfs_inode *out)
{
    out->ino = col_u64(r, row, c);
    out->mode = (uint32_t)col_u64(r, row, c + 1);
    out->uid = (uint32_t)col_u64(r, row, c + 2);
    out->gid = (uint32_t)col_u64(r, row, c + 3);
    out->nlink = (uint32_t)col_u64(r, row, c + 4);
    out->rdev = (uint32_t)col_u64(r, row, c + 5);
    out->size = col_u64(r, row, c + 6);
    out->atime.tv_sec = (time_t)col_u64(r, row, c + 7);
    out->atime.tv_nsec = (long)col_u64(r, row, c + 8);
    out->mtime.tv_sec = (time_t)col_u64(r, row, c + 9);
    out->mtime.tv_nsec = (long)col_u64(r, row, c + 10);
    out->ctime.tv_sec = (time_t)col_u64(r, row, c + 11);
    out->ctime.tv_nsec = (long)col_u64(r, row, c + 12);
    out->btime.tv_sec = (time_t)col_u64(r, row, c + 13);
    out->btime.tv_nsec = (long)col_u64(r, row, c + 14);
}

/* Copy column @p col of @p row, NUL-terminated; -ENAMETOOLONG if it does
 * not fit. */
static int col_text(const PGresult *r, int row, int col, char *buf,
                    size_t size)
{
    size_t len = (size_t)PQgetlength(r, row, col);

    if (len >= size)
        return -ENAMETOOLONG;
    memcpy(buf, PQgetvalue(r, row, col), len);
    buf[len] = 0;
    return 0;
}

/* Run a one-key statement and read the bigint of its first row. */
static int select_u64(struct sqlfs_txn *t, enum pg_stmt id,
                      const struct params *p, uint64_t *out)
{
    PGresult *r;
    int err = run(t, id, p, &r);

    *out = 0;
    if (err == 0 && PQntuples(r) == 0)
        err = -ENOENT;
    else if (err == 0)
        *out = col_u64(r, 0, 0);
    PQclear(r);
    return err;
}

/* ---- transactions ---- */

static int pq_begin(struct sqlfs_backend *base, bool write,
                    struct sqlfs_txn **out)
{
    struct pg_backend *b = pg_of(base);
    struct sqlfs_txn *t;
    int err;

    *out = NULL;
    if (write && b->read_only)
        return -EROFS;
    t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->b = b;
    t->write = write;
    /* BEGIN goes with the first statement (run()). */
    err = pg_slot_take(b, &t->slot);
    if (err < 0) {
        free(t);
        return err;
    }
    *out = t;
    return 0;
}

/* Give the connection back and free the transaction. */
static void finish(struct sqlfs_txn *t)
{
    if (t->slot)
        pg_slot_give(t->b, t->slot,
                     PQstatus(t->slot->conn) != CONNECTION_OK);
    free(t);
}

static void pq_rollback(struct sqlfs_txn *t)
{
    if (t->slot && t->pending && PQstatus(t->slot->conn) == CONNECTION_OK)
        collect(t, NULL);
    if (t->slot && t->begun && PQstatus(t->slot->conn) == CONNECTION_OK)
        PQclear(PQexec(t->slot->conn, "ROLLBACK"));
    finish(t);
}

static int pq_commit(struct sqlfs_txn *t)
{
    char payload[PG_PAYLOAD_MAX + 64];
    struct params p = {0};
    PGresult *r = NULL;
    int err = 0;

    if (!t->begun) { /* nothing of it reached the server */
        finish(t);
        return 0;
    }
    if (t->write && (t->changes_len || t->changes_overflow)) {
        snprintf(payload, sizeof payload, "%s%s%s", t->b->mount_id,
                 t->changes_overflow ? " *" : "", t->changes);
        p_text(&p, PG_CHANNEL);
        p_text(&p, payload);
        err = send(t, 0, "SELECT pg_notify($1, $2)", &p, 0);
    }
    if (err == 0)
        err = send(t, 0, "COMMIT", NULL, 0);
    if (err == 0)
        err = collect(t, &r);
    /* COMMIT of a transaction that failed answers ROLLBACK. */
    if (err == 0 && strcmp(PQcmdStatus(r), "COMMIT") != 0)
        err = -EIO;
    PQclear(r);
    if (err < 0) {
        pq_rollback(t);
        return err;
    }
    finish(t);
    return 0;
}

static int pq_sync(struct sqlfs_backend *base)
{
    struct pg_backend *b = pg_of(base);
    struct pg_slot *slot;
    PGresult *r;
    int err;

    if (b->full_sync || b->read_only)
        return 0; /* every commit was synchronous already */
    err = pg_slot_take(b, &slot);
    if (err < 0)
        return err;
    /* A transaction that writes WAL (a logical message, no table), committed
     * synchronously: the server flushes its WAL up to its commit, every
     * earlier commit with it. (A transaction that only took an id would
     * not do: it writes no WAL before its commit record, and PostgreSQL
     * commits such a one asynchronously.) */
    r = PQexec(slot->conn, "BEGIN; SET LOCAL synchronous_commit = on; "
                           "SELECT pg_logical_emit_message(true, 'sqlfs', "
                           "'sync'); COMMIT");
    if (PQresultStatus(r) != PGRES_COMMAND_OK)
        err = pg_error_of(b, slot->conn, r);
    PQclear(r);
    pg_slot_give(b, slot, PQstatus(slot->conn) != CONNECTION_OK);
    return err;
}

/* ---- inodes ---- */

static void p_inode(struct params *p, const struct sqlfs_inode *in)
{
    p_i64(p, in->mode);
    p_i64(p, in->uid);
    p_i64(p, in->gid);
    p_i64(p, in->nlink);
    p_i64(p, in->rdev);
    p_u64(p, in->size);
    p_i64(p, in->atime.tv_sec);
    p_i64(p, in->atime.tv_nsec);
    p_i64(p, in->mtime.tv_sec);
    p_i64(p, in->mtime.tv_nsec);
    p_i64(p, in->ctime.tv_sec);
    p_i64(p, in->ctime.tv_nsec);
    p_i64(p, in->btime.tv_sec);
    p_i64(p, in->btime.tv_nsec);
}

static int pq_inode_get(struct sqlfs_txn *t, uint64_t ino,
                        struct sqlfs_inode *out)
{
    struct params p = {0};
    PGresult *r;
    int err;

    memset(out, 0, sizeof *out);
    p_u64(&p, ino);
    err = run(t, PG_INODE_GET, &p, &r);
    if (err == 0 && PQntuples(r) == 0)
        err = -ENOENT;
    else if (err == 0)
        col_inode(r, 0, 0, out);
    PQclear(r);
    return err;
}

static int pq_inode_update(struct sqlfs_txn *t, const struct sqlfs_inode *in)
{
    struct params p = {0};
    int err;

    p_u64(&p, in->ino);
    p_inode(&p, in);
    err = defer(t, PG_INODE_UPDATE, &p, -ENOENT);
    if (err == 0)
        pg_note_inode(t, 'a', in->ino);
    return err;
}

static int pq_inode_insert(struct sqlfs_txn *t, struct sqlfs_inode *in,
                           const char *target)
{
    struct params p = {0};

    p_inode(&p, in);
    if (target)
        p_bytes(&p, target, strlen(target));
    else
        p.value[p.n++] = NULL; /* SQL NULL */
    return select_u64(t, PG_INODE_INSERT, &p, &in->ino);
}

static int pq_inode_delete(struct sqlfs_txn *t, uint64_t ino)
{
    struct params p = {0};

    p_u64(&p, ino);
    return defer(t, PG_INODE_DELETE, &p, 0);
}

static int pq_link_target(struct sqlfs_txn *t, uint64_t ino, char *buf,
                          size_t size)
{
    struct params p = {0};
    PGresult *r;
    int err;

    p_u64(&p, ino);
    err = run(t, PG_LINK_TARGET, &p, &r);
    if (err == 0 && (PQntuples(r) == 0 || PQgetisnull(r, 0, 0)))
        err = -ENOENT;
    else if (err == 0)
        err = col_text(r, 0, 0, buf, size);
    PQclear(r);
    return err;
}

/* ---- directory entries ---- */

/*
 * The name as stored: @p name itself, or on a case-insensitive volume the
 * stored name that matches it in any case (fsp_name_compare()), which
 * every entry of the directory is compared with.
 * @return 0, -ENOENT when no entry matches
 */
static int stored_name(struct sqlfs_txn *t, uint64_t parent, const char *name,
                       char stored[NAME_MAX + 1])
{
    struct params p = {0};
    PGresult *r;
    int err, i;

    if (!t->b->case_insensitive) {
        snprintf(stored, NAME_MAX + 1, "%s", name);
        return 0;
    }
    p_u64(&p, parent);
    err = run(t, PG_ENTRY_NAMES, &p, &r);
    if (err < 0)
        return err;
    err = -ENOENT;
    for (i = 0; i < PQntuples(r) && err == -ENOENT; i++)
        if (col_text(r, i, 0, stored, NAME_MAX + 1) == 0 &&
            fsp_name_compare(stored, name, true) == 0)
            err = 0;
    PQclear(r);
    return err;
}

static int pq_entry_find(struct sqlfs_txn *t, uint64_t parent,
                         const char *name, uint64_t *ino)
{
    char stored[NAME_MAX + 1];
    struct params p = {0};
    int err;

    *ino = 0;
    err = stored_name(t, parent, name, stored);
    if (err < 0)
        return err;
    p_u64(&p, parent);
    p_bytes(&p, stored, strlen(stored));
    return select_u64(t, PG_ENTRY_FIND, &p, ino);
}

/* An entry statement with (parent, name[, ino]); @p missing is what no
 * changed row means. */
static int run_entry(struct sqlfs_txn *t, enum pg_stmt id, uint64_t parent,
                     const char *name, uint64_t ino, int missing)
{
    char stored[NAME_MAX + 1];
    struct params p = {0};
    int err = 0;

    if (id == PG_ENTRY_INSERT)
        snprintf(stored, sizeof stored, "%s", name);
    else
        err = stored_name(t, parent, name, stored);
    if (err < 0)
        return err;
    p_u64(&p, parent);
    p_bytes(&p, stored, strlen(stored));
    if (id != PG_ENTRY_DELETE)
        p_u64(&p, ino);
    err = defer(t, id, &p, missing);
    if (err == 0)
        pg_note_entry(t, parent, stored);
    return err;
}

static int pq_entry_insert(struct sqlfs_txn *t, uint64_t parent,
                           const char *name, uint64_t ino)
{
    return run_entry(t, PG_ENTRY_INSERT, parent, name, ino, -EEXIST);
}

static int pq_entry_retarget(struct sqlfs_txn *t, uint64_t parent,
                             const char *name, uint64_t ino)
{
    return run_entry(t, PG_ENTRY_RETARGET, parent, name, ino, -ENOENT);
}

static int pq_entry_delete(struct sqlfs_txn *t, uint64_t parent,
                           const char *name)
{
    return run_entry(t, PG_ENTRY_DELETE, parent, name, 0, -ENOENT);
}

static int pq_entry_parent(struct sqlfs_txn *t, uint64_t ino,
                           uint64_t *parent)
{
    struct params p = {0};

    p_u64(&p, ino);
    return select_u64(t, PG_ENTRY_PARENT, &p, parent);
}

static int pq_entry_list(struct sqlfs_txn *t, uint64_t parent,
                         const char *after, sqlfs_entry_fn *fn, void *context)
{
    char name[NAME_MAX + 1], last[NAME_MAX + 1];
    struct sqlfs_inode in;
    struct params p;
    PGresult *r;
    bool stop = false;
    int err = 0, i, rows = PG_LIST_PAGE;

    snprintf(last, sizeof last, "%s", after ? after : "");
    /* A page at a time, each after the last name of the one before. */
    while (!stop && rows == PG_LIST_PAGE) {
        memset(&p, 0, sizeof p);
        p_u64(&p, parent);
        p_bytes(&p, last, strlen(last));
        err = run(t, PG_ENTRY_LIST, &p, &r);
        if (err < 0)
            break;
        rows = PQntuples(r);
        for (i = 0; i < rows && !stop; i++) {
            if (col_text(r, i, 0, name, sizeof name) < 0)
                continue; /* longer than any name fsp passes: skip it */
            snprintf(last, sizeof last, "%s", name);
            col_inode(r, i, 1, &in);
            stop = !fn(context, name, &in);
        }
        PQclear(r);
    }
    return err;
}

/* ---- data ---- */

static int pq_chunk_read(struct sqlfs_txn *t, uint64_t ino, uint64_t index,
                         void *buf, size_t *length)
{
    struct params p = {0};
    PGresult *r;
    size_t len;
    int err;

    *length = 0;
    p_u64(&p, ino);
    p_u64(&p, index);
    err = run(t, PG_CHUNK_READ, &p, &r);
    if (err == 0 && PQntuples(r) > 0) {
        len = (size_t)PQgetlength(r, 0, 0);
        if (len > SQLFS_CHUNK_SIZE)
            len = SQLFS_CHUNK_SIZE;
        memcpy(buf, PQgetvalue(r, 0, 0), len);
        *length = len;
    }
    PQclear(r);
    return err;
}

static int pq_chunk_write(struct sqlfs_txn *t, uint64_t ino, uint64_t index,
                          const void *buf, size_t length)
{
    struct params p = {0};

    p_u64(&p, ino);
    p_u64(&p, index);
    p_bytes(&p, buf, length);
    pg_note_inode(t, 'd', ino);
    return defer(t, PG_CHUNK_WRITE, &p, 0);
}

static int pq_chunk_delete(struct sqlfs_txn *t, uint64_t ino, uint64_t first,
                           uint64_t last)
{
    struct params p = {0};

    p_u64(&p, ino);
    p_u64(&p, first);
    p_u64(&p, last);
    pg_note_inode(t, 'd', ino);
    return defer(t, PG_CHUNK_DELETE, &p, 0);
}

static int pq_chunk_bytes(struct sqlfs_txn *t, uint64_t ino, uint64_t *bytes)
{
    struct params p = {0};

    p_u64(&p, ino);
    return select_u64(t, PG_CHUNK_BYTES, &p, bytes);
}

/* ---- extended attributes ---- */

static int pq_xattr_get(struct sqlfs_txn *t, uint64_t ino, const char *name,
                        void *buf, size_t size, size_t *length)
{
    struct params p = {0};
    PGresult *r;
    size_t len;
    int err;

    *length = 0;
    p_u64(&p, ino);
    p_text(&p, name);
    err = run(t, PG_XATTR_GET, &p, &r);
    if (err == 0 && PQntuples(r) == 0)
        err = -ENODATA;
    else if (err == 0) {
        len = (size_t)PQgetlength(r, 0, 0);
        if (len <= size && len)
            memcpy(buf, PQgetvalue(r, 0, 0), len);
        *length = len;
    }
    PQclear(r);
    return err;
}

static int pq_xattr_set(struct sqlfs_txn *t, uint64_t ino, const char *name,
                        const void *value, size_t size)
{
    struct params p = {0};

    p_u64(&p, ino);
    p_text(&p, name);
    p_bytes(&p, value, size);
    return defer(t, PG_XATTR_SET, &p, 0);
}

static int pq_xattr_remove(struct sqlfs_txn *t, uint64_t ino,
                           const char *name)
{
    struct params p = {0};
    long changed;
    int err;

    p_u64(&p, ino);
    p_text(&p, name);
    err = run_count(t, PG_XATTR_REMOVE, &p, &changed);
    if (err == 0 && changed == 0)
        err = -ENODATA;
    return err;
}

static int pq_xattr_list(struct sqlfs_txn *t, uint64_t ino, sqlfs_name_fn *fn,
                         void *context)
{
    char name[XATTR_NAME_LONGEST + 1];
    struct params p = {0};
    PGresult *r;
    int err, i;

    p_u64(&p, ino);
    err = run(t, PG_XATTR_LIST, &p, &r);
    for (i = 0; err == 0 && i < PQntuples(r); i++)
        if (col_text(r, i, 0, name, sizeof name) == 0 && !fn(context, name))
            break;
    PQclear(r);
    return err;
}

/* ---- orphans, usage, queries ---- */

static int pq_orphan_add(struct sqlfs_txn *t, uint64_t ino)
{
    struct params p = {0};

    p_u64(&p, ino);
    return defer(t, PG_ORPHAN_ADD, &p, 0);
}

static int pq_orphan_next(struct sqlfs_txn *t, uint64_t after, uint64_t *ino)
{
    struct params p = {0};

    p_u64(&p, after);
    return select_u64(t, PG_ORPHAN_NEXT, &p, ino);
}

/* The space a volume on a server may take is the server's business: sqlfs
 * shows a nominal size, of which the files' bytes (and a nominal 256 bytes
 * an inode) are used. */
#define PG_NOMINAL_SIZE (UINT64_C(1) << 40)
#define PG_INODE_BYTES 256

static int pq_usage(struct sqlfs_txn *t, struct sqlfs_usage *out)
{
    struct params p = {0};
    PGresult *r;
    int err;

    memset(out, 0, sizeof *out);
    err = run(t, PG_USAGE, &p, &r);
    if (err == 0 && PQntuples(r) == 1) {
        out->inodes = col_u64(r, 0, 0);
        out->used_bytes = col_u64(r, 0, 1) + out->inodes * PG_INODE_BYTES;
        if (out->used_bytes > PG_NOMINAL_SIZE)
            out->used_bytes = PG_NOMINAL_SIZE;
        out->free_bytes = PG_NOMINAL_SIZE - out->used_bytes;
        out->total_bytes = PG_NOMINAL_SIZE;
    }
    PQclear(r);
    return err;
}

static int pq_query(struct sqlfs_txn *t, const char *sql, sqlfs_row_fn *fn,
                    void *context)
{
    const char *values[16];
    PGresult *r;
    int err, n, i, row;

    err = pg_txn_ready(t);
    if (err < 0)
        return err;
    r = PQexec(t->slot->conn, sql);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        err = pg_error_of(t->b, t->slot->conn, r);
        PQclear(r);
        return err;
    }
    n = PQnfields(r) < 16 ? PQnfields(r) : 16;
    for (row = 0; row < PQntuples(r); row++) {
        for (i = 0; i < n; i++)
            values[i] = PQgetisnull(r, row, i) ? NULL : PQgetvalue(r, row, i);
        if (!fn(context, n, values))
            break;
    }
    PQclear(r);
    return 0;
}

const struct sqlfs_backend_ops sqlfs_pg_ops = {
    .open = pg_backend_open,
    .close = pg_backend_close,
    .begin = pq_begin,
    .commit = pq_commit,
    .rollback = pq_rollback,
    .sync = pq_sync,
    .inode_get = pq_inode_get,
    .inode_update = pq_inode_update,
    .inode_insert = pq_inode_insert,
    .inode_delete = pq_inode_delete,
    .link_target = pq_link_target,
    .entry_find = pq_entry_find,
    .entry_insert = pq_entry_insert,
    .entry_retarget = pq_entry_retarget,
    .entry_delete = pq_entry_delete,
    .entry_parent = pq_entry_parent,
    .entry_list = pq_entry_list,
    .chunk_read = pq_chunk_read,
    .chunk_write = pq_chunk_write,
    .chunk_delete = pq_chunk_delete,
    .chunk_bytes = pq_chunk_bytes,
    .xattr_get = pq_xattr_get,
    .xattr_set = pq_xattr_set,
    .xattr_remove = pq_xattr_remove,
    .xattr_list = pq_xattr_list,
    .orphan_add = pq_orphan_add,
    .orphan_next = pq_orphan_next,
    .usage = pq_usage,
    .query = pq_query,
    .read_async = pq_read_async,
    .quiesce = pq_quiesce,
    .lock_test = pq_lock_test,
    .lock_set = pq_lock_set,
};
