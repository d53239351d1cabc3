/**
 * @file pg_lock.c
 * POSIX locks (fcntl(2)) and flock(2) locks on a PostgreSQL volume,
 * exclusive across every mount of the database, and released when a
 * mount dies.
 *
 * The locks are rows of the table `locks`: the inode, the kind (flock or
 * POSIX), the mount and the owner (the kernel's lock owner, as that
 * mount numbers it), the type, the range and the pid that set it, and the
 * mount's *session*: the pid and start time of the server process of the
 * mount's listener connection (pg_notify.c), as pg_stat_activity shows
 * it. A lock counts only while its session is alive: when a mount dies
 * (SIGKILL, a crash, its machine gone) its connections close, the server
 * ends their processes, and their rows stop counting at once; the next
 * lock operation on the inode deletes them. After a reconnection of the
 * listener the mount adopts its rows under its new session.
 * (PostgreSQL shows the start time of a session only to its role and to
 * pg_read_all_stats: the mounts of a volume connect as one role.)
 *
 * Setting a lock is a writing transaction (pg.c: the advisory lock that
 * serializes writers, so the test and the change are atomic across
 * mounts): the live conflicting lock of another owner, if any; else the
 * owner's rows of that kind on the inode are replaced by what they
 * become (a new lock replaces, over its range, what the owner held
 * there, splitting and merging as POSIX says; a flock lock is one row),
 * and the transaction's NOTIFY says "lINO", so that the other mounts try
 * their waiting locks on the inode again.
 *
 * Waiting (F_SETLKW, flock without LOCK_NB) holds no worker: the request
 * is answered SQLFS_LOCK_QUEUED (FSP_PENDING) and put on a list that a
 * thread of this file tries again whenever a lock of this mount or
 * ("lINO") of another changes, and every PG_LOCK_RETRY_MS (a dead mount
 * announces nothing). A grant answers the request before its commit, and
 * rolls back if the caller no longer waits (interrupted by a signal:
 * fsp answered EINTR). A close of the owner ends its waits with EINTR.
 */
#define _GNU_SOURCE

#include "pg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How often waiting locks are tried again without a notification. */
#define PG_LOCK_RETRY_MS 250

/* A row counts while the session that holds it is alive. */
#define LIVE                                                                \
    "EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.pid = l.session_pid " \
    "AND a.backend_start = l.session_start)"

const char pg_locks_table_sql[] =
    "SET LOCAL client_min_messages = warning;" /* no "already exists" */
    "CREATE TABLE IF NOT EXISTS locks ("
    "  ino bigint NOT NULL,"
    "  flock boolean NOT NULL,"
    "  mount text NOT NULL,"
    "  owner bigint NOT NULL,"
    "  type smallint NOT NULL," /* 0: read (shared), 1: write (exclusive) */
    "  first_byte bigint NOT NULL,"
    "  last_byte bigint NOT NULL,"
    "  pid bigint NOT NULL,"
    "  session_pid integer NOT NULL,"
    "  session_start timestamptz NOT NULL);"
    "CREATE INDEX IF NOT EXISTS locks_by_ino ON locks (ino);";

/* $1 ino, $2 flock, $3 mount, $4 owner, $5 first, $6 last, $7 type */
static const char conflict_sql[] =
    "SELECT l.type, l.first_byte, l.last_byte, l.pid FROM locks l "
    "WHERE l.ino = $1 AND l.flock = $2 AND NOT (l.mount = $3 AND "
    "l.owner = $4) AND l.first_byte <= $6 AND l.last_byte >= $5 AND "
    "(l.type = 1 OR $7::smallint = 1) AND " LIVE " LIMIT 1";
static const char mine_sql[] =
    "SELECT type, first_byte, last_byte, pid FROM locks WHERE ino = $1 "
    "AND flock = $2 AND mount = $3 AND owner = $4";
static const char mine_delete_sql[] =
    "DELETE FROM locks WHERE ino = $1 AND flock = $2 AND mount = $3 AND "
    "owner = $4";
static const char insert_sql[] =
    "INSERT INTO locks (ino, flock, mount, owner, first_byte, last_byte, "
    "type, pid, session_pid, session_start) VALUES ($1, $2, $3, $4, $5, "
    "$6, $7, $8, $9, $10)";
static const char dead_sql[] =
    "DELETE FROM locks l WHERE l.ino = $1 AND NOT " LIVE;
static const char session_sql[] =
    "SELECT pid, backend_start::text FROM pg_stat_activity "
    "WHERE pid = pg_backend_pid()";
static const char adopt_sql[] =
    "UPDATE locks SET session_pid = $1, session_start = $2 WHERE mount = $3";

/* A lock request that waits. */
struct pg_lock_wait {
    struct pg_lock_wait *next;
    uint64_t ino;
    struct sqlfs_lock want;
    sqlfs_lock_done_fn *done;
    void *context;
    uint64_t tag;
};

struct pg_locks {
    pthread_mutex_t lock;  /* guards waits; held by a pass of the thread */
    struct pg_lock_wait *waits; /* oldest first */
    _Atomic unsigned nwaits;    /* their number, read without the lock */
    pthread_mutex_t state; /* guards the rest */
    pthread_cond_t changed; /* kicked, stopping or the session changed */
    bool kicked;
    bool stopping;
    char session_pid[16];   /* empty until the listener connected */
    char session_start[64];
    uint64_t *locked;       /* the inodes this mount has set locks on */
    size_t nlocked, locked_room;
    pthread_t thread;
    bool started;
};

/* The parameters of a statement about one lock, as text. */
struct lock_text {
    char ino[24], flock[2], owner[24], type[2], first[24], last[24], pid[16];
    char session_pid[16], session_start[64];
    const char *v[10];
};

static void lock_text(struct lock_text *k, struct pg_backend *b, uint64_t ino,
                      const struct sqlfs_lock *l)
{
    snprintf(k->ino, sizeof k->ino, "%lld", (long long)ino);
    snprintf(k->flock, sizeof k->flock, "%s", l->flock ? "t" : "f");
    snprintf(k->owner, sizeof k->owner, "%lld", (long long)(int64_t)l->owner);
    snprintf(k->first, sizeof k->first, "%lld", (long long)l->start);
    snprintf(k->last, sizeof k->last, "%lld", (long long)l->end);
    snprintf(k->type, sizeof k->type, "%d", l->type == F_WRLCK);
    snprintf(k->pid, sizeof k->pid, "%u", l->pid);
    /* The order of conflict_sql; mine_sql uses the first four. */
    k->v[0] = k->ino;
    k->v[1] = k->flock;
    k->v[2] = b->mount_id;
    k->v[3] = k->owner;
    k->v[4] = k->first;
    k->v[5] = k->last;
    k->v[6] = k->type;
    k->v[7] = k->pid;
    k->v[8] = k->session_pid;
    k->v[9] = k->session_start;
}

/* Run @p sql with @p n text parameters; *out gets its result (NULL: not
 * wanted). @return 0 or -errno */
static int exec_text(struct pg_backend *b, PGconn *conn, const char *sql,
                     int n, const char *const *values, PGresult **out)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, values, NULL, NULL, 0);
    ExecStatusType st = PQresultStatus(r);
    int err = 0;

    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
        err = pg_error_of(b, conn, r);
        PQclear(r);
        r = NULL;
    }
    if (out)
        *out = r;
    else
        PQclear(r);
    return err;
}

/* Row @p row of conflict_sql or mine_sql as a lock of @p like's owner. */
static void row_lock(const PGresult *r, int row, const struct sqlfs_lock *like,
                     struct sqlfs_lock *out)
{
    *out = *like;
    out->type = strcmp(PQgetvalue(r, row, 0), "1") == 0 ? F_WRLCK : F_RDLCK;
    out->start = strtoull(PQgetvalue(r, row, 1), NULL, 10);
    out->end = strtoull(PQgetvalue(r, row, 2), NULL, 10);
    out->pid = (uint32_t)strtoul(PQgetvalue(r, row, 3), NULL, 10);
}

/*
 * The owner's locks of one kind once @p want is applied: what it held
 * over the range goes, the pieces outside it stay, and locks of the same
 * type that touch it merge with it; a flock lock replaces the owner's
 * whole. @p out has room for 2 * n + 1. @return how many
 */
static size_t locks_after(const struct sqlfs_lock *held, size_t n,
                          const struct sqlfs_lock *want,
                          struct sqlfs_lock *out)
{
    struct sqlfs_lock merged = *want;
    size_t i, k = 0;

    for (i = 0; i < n && !want->flock; i++) {
        const struct sqlfs_lock *l = &held[i];
        bool overlaps = l->start <= want->end && want->start <= l->end;
        bool touches = l->start <= want->end + 1 && want->start <= l->end + 1;

        if (l->type == want->type && touches) {
            if (l->start < merged.start)
                merged.start = l->start;
            if (l->end > merged.end)
                merged.end = l->end;
        } else if (overlaps) {
            if (l->start < want->start) {
                out[k] = *l;
                out[k++].end = want->start - 1;
            }
            if (l->end > want->end) {
                out[k] = *l;
                out[k++].start = want->end + 1;
            }
        } else {
            out[k++] = *l;
        }
    }
    if (want->type != F_UNLCK)
        out[k++] = merged;
    return k;
}

/* This mount's session, waiting up to the bound for the listener to
 * connect. @return 0, -ENOLCK */
static int session_of(struct pg_backend *b, struct lock_text *k)
{
    struct pg_locks *L = b->locks;
    struct timespec deadline;
    int err = 0;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += b->timeout_ms / 1000;
    deadline.tv_nsec += (long)(b->timeout_ms % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&L->state);
    while (!L->session_pid[0] && !L->stopping && err == 0)
        err = pthread_cond_timedwait(&L->changed, &L->state, &deadline);
    snprintf(k->session_pid, sizeof k->session_pid, "%s", L->session_pid);
    snprintf(k->session_start, sizeof k->session_start, "%s",
             L->session_start);
    pthread_mutex_unlock(&L->state);
    return k->session_pid[0] ? 0 : -ENOLCK;
}

/* Replace the owner's rows of @p want's kind by what they become. */
static int rewrite_owner(struct sqlfs_txn *t, uint64_t ino,
                         struct lock_text *k, const struct sqlfs_lock *want)
{
    struct sqlfs_lock *held = NULL, *after = NULL;
    struct pg_backend *b = t->b;
    PGconn *conn = t->slot->conn;
    struct lock_text piece;
    PGresult *r;
    size_t n, count, i;
    int err;

    err = exec_text(b, conn, mine_sql, 4, k->v, &r);
    if (err < 0)
        return err;
    n = (size_t)PQntuples(r);
    held = calloc(n + 1, sizeof *held);
    after = calloc(2 * n + 1, sizeof *after);
    if (!held || !after) {
        err = -ENOLCK;
        goto out;
    }
    for (i = 0; i < n; i++)
        row_lock(r, (int)i, want, &held[i]);
    count = locks_after(held, n, want, after);
    err = exec_text(b, conn, mine_delete_sql, 4, k->v, NULL);
    for (i = 0; i < count && err == 0; i++) {
        lock_text(&piece, b, ino, &after[i]);
        memcpy(piece.session_pid, k->session_pid, sizeof piece.session_pid);
        memcpy(piece.session_start, k->session_start,
               sizeof piece.session_start);
        err = exec_text(b, conn, insert_sql, 10, piece.v, NULL);
    }
out:
    PQclear(r);
    free(held);
    free(after);
    return err;
}

/*
 * Try to set @p want on @p ino in one transaction. With @p w (a waiting
 * request) the request is answered before the commit.
 * @return 0 (set; with @p w: answered), -EAGAIN (a conflict), -ECANCELED
 *         (@p w's caller no longer waits: nothing changed), -errno
 */
static int try_set(struct pg_backend *b, uint64_t ino,
                   const struct sqlfs_lock *want,
                   const struct pg_lock_wait *w)
{
    struct sqlfs_txn *t = NULL;
    struct lock_text k;
    PGresult *r = NULL;
    int err;

    lock_text(&k, b, ino, want);
    err = session_of(b, &k);
    if (err == 0)
        err = sqlfs_pg_ops.begin(&b->base, true, &t);
    if (err < 0)
        return err;
    err = pg_txn_ready(t);
    if (err == 0)
        err = exec_text(b, t->slot->conn, dead_sql, 1, k.v, NULL);
    if (err == 0 && want->type != F_UNLCK) {
        err = exec_text(b, t->slot->conn, conflict_sql, 7, k.v, &r);
        if (err == 0 && PQntuples(r) > 0)
            err = -EAGAIN;
        PQclear(r);
    }
    if (err == -EAGAIN && want->flock && !w) {
        /* flock(2) converts a lock by letting go of the old one first:
         * that much happens even when the new one must wait. */
        if (exec_text(b, t->slot->conn, mine_delete_sql, 4, k.v, NULL) == 0) {
            pg_note_inode(t, 'l', ino);
            sqlfs_pg_ops.commit(t);
            return -EAGAIN;
        }
    }
    if (err == 0)
        err = rewrite_owner(t, ino, &k, want);
    if (err < 0)
        goto out;
    pg_note_inode(t, 'l', ino); /* the other mounts' waits try again */
    if (w && !w->done(w->context, w->tag, 0)) {
        err = -ECANCELED;
        goto out;
    }
    err = sqlfs_pg_ops.commit(t);
    t = NULL;
    if (err < 0 && w) {
        fprintf(stderr, "sqlfs: a lock granted to a waiting request on "
                        "inode %llu was lost with its commit (%s)\n",
                (unsigned long long)ino, strerror(-err));
        err = 0; /* answered: it must not be answered again */
    }
out:
    if (t)
        sqlfs_pg_ops.rollback(t);
    return err;
}

/* Wake the thread: the locks changed. */
static void kick(struct pg_locks *L)
{
    pthread_mutex_lock(&L->state);
    L->kicked = true;
    pthread_cond_broadcast(&L->changed);
    pthread_mutex_unlock(&L->state);
}

unsigned pg_locks_waiting(struct pg_backend *b)
{
    return b->locks ? b->locks->nwaits : 0;
}

void pg_locks_kick(struct pg_backend *b)
{
    if (b->locks)
        kick(b->locks);
}

/* Take each waiting lock that no longer conflicts, oldest first. (lock
 * held) */
static void retry_waits(struct pg_backend *b)
{
    struct pg_locks *L = b->locks;
    struct pg_lock_wait **link = &L->waits, *w;
    int err;

    while ((w = *link) != NULL) {
        err = try_set(b, w->ino, &w->want, w);
        if (err == -EAGAIN) {
            link = &w->next;
            continue;
        }
        if (err < 0 && err != -ECANCELED)
            w->done(w->context, w->tag, err);
        *link = w->next;
        free(w);
        L->nwaits--;
    }
}

static void *waiter(void *arg)
{
    struct pg_backend *b = arg;
    struct pg_locks *L = b->locks;
    struct timespec deadline;
    bool stop;

    for (;;) {
        clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_nsec += PG_LOCK_RETRY_MS * 1000000L;
        if (deadline.tv_nsec >= 1000000000) {
            deadline.tv_sec++;
            deadline.tv_nsec -= 1000000000;
        }
        pthread_mutex_lock(&L->state);
        while (!L->stopping && !L->kicked)
            if (pthread_cond_timedwait(&L->changed, &L->state, &deadline) ==
                ETIMEDOUT)
                break;
        stop = L->stopping;
        L->kicked = false;
        pthread_mutex_unlock(&L->state);
        if (stop)
            break;
        pthread_mutex_lock(&L->lock);
        retry_waits(b);
        pthread_mutex_unlock(&L->lock);
    }
    return NULL;
}

/* End the waits of @p owner's kind on @p ino (all with @p all) with
 * -EINTR. */
static void end_waits(struct pg_locks *L, bool all, uint64_t ino,
                      const struct sqlfs_lock *owner)
{
    struct pg_lock_wait **link, *w;

    pthread_mutex_lock(&L->lock);
    link = &L->waits;
    while ((w = *link) != NULL) {
        if (!all && (w->ino != ino || w->want.owner != owner->owner ||
                     w->want.flock != owner->flock)) {
            link = &w->next;
            continue;
        }
        w->done(w->context, w->tag, -EINTR);
        *link = w->next;
        free(w);
        L->nwaits--;
    }
    pthread_mutex_unlock(&L->lock);
}

/* Put a request on the list. @return SQLFS_LOCK_QUEUED or -ENOLCK */
static int queue(struct pg_locks *L, uint64_t ino,
                 const struct sqlfs_lock *want, sqlfs_lock_done_fn *done,
                 void *context, uint64_t tag)
{
    struct pg_lock_wait *w = calloc(1, sizeof *w), **link;

    if (!w)
        return -ENOLCK;
    w->ino = ino;
    w->want = *want;
    w->done = done;
    w->context = context;
    w->tag = tag;
    pthread_mutex_lock(&L->lock);
    for (link = &L->waits; *link; link = &(*link)->next)
        ;
    *link = w;
    L->nwaits++;
    pthread_mutex_unlock(&L->lock);
    /* The conflicting lock may have gone since the try: try again. */
    kick(L);
    return SQLFS_LOCK_QUEUED;
}

/*
 * Whether this mount may hold locks on @p ino: true once it set one
 * there (@p note: it is about to). Every close(2) unlocks (FLUSH), and
 * most files were never locked: those cost no round trip. With @p note,
 * false means there was no memory to note it.
 */
static bool may_hold(struct pg_locks *L, uint64_t ino, bool note)
{
    bool found = false;
    size_t i;

    pthread_mutex_lock(&L->state);
    for (i = 0; i < L->nlocked && !found; i++)
        found = L->locked[i] == ino;
    if (!found && note) {
        if (L->nlocked == L->locked_room) {
            size_t room = L->locked_room ? 2 * L->locked_room : 16;
            uint64_t *bigger = realloc(L->locked, room * sizeof *bigger);

            if (bigger) {
                L->locked = bigger;
                L->locked_room = room;
            }
        }
        if (L->nlocked < L->locked_room) {
            L->locked[L->nlocked++] = ino;
            found = true;
        }
    }
    pthread_mutex_unlock(&L->state);
    return found;
}

int pq_lock_set(struct sqlfs_backend *base, uint64_t ino,
                const struct sqlfs_lock *want, unsigned flags,
                sqlfs_lock_done_fn *done, void *context, uint64_t tag)
{
    struct pg_backend *b = (struct pg_backend *)base;
    int err;

    if (!b->locks)
        return -ENOLCK;
    if (want->type != F_UNLCK && !may_hold(b->locks, ino, true))
        return -ENOLCK;
    if (want->type == F_UNLCK && !may_hold(b->locks, ino, false)) {
        err = 0; /* nothing of this mount's to remove */
    } else {
        err = try_set(b, ino, want, NULL);
        if (err == 0)
            kick(b->locks); /* this mount's waits may go now */
    }
    if (err == -EAGAIN && (flags & SQLFS_LOCK_WAIT))
        return queue(b->locks, ino, want, done, context, tag);
    if (flags & SQLFS_LOCK_CLOSE)
        end_waits(b->locks, false, ino, want);
    return err;
}

int pq_lock_test(struct sqlfs_backend *base, uint64_t ino,
                 const struct sqlfs_lock *want, struct sqlfs_lock *conflict)
{
    struct pg_backend *b = (struct pg_backend *)base;
    struct sqlfs_txn *t;
    struct lock_text k;
    PGresult *r = NULL;
    int err;

    memset(conflict, 0, sizeof *conflict);
    conflict->type = F_UNLCK;
    lock_text(&k, b, ino, want);
    err = sqlfs_pg_ops.begin(base, false, &t);
    if (err < 0)
        return err;
    err = pg_txn_ready(t);
    if (err == 0)
        err = exec_text(b, t->slot->conn, conflict_sql, 7, k.v, &r);
    if (err == 0 && PQntuples(r) > 0)
        row_lock(r, 0, want, conflict);
    PQclear(r);
    if (err < 0) {
        sqlfs_pg_ops.rollback(t);
        return err;
    }
    return sqlfs_pg_ops.commit(t);
}

void pg_locks_session(struct pg_backend *b, PGconn *conn)
{
    struct pg_locks *L = b->locks;
    const char *values[3];
    PGresult *r;

    if (!L || exec_text(b, conn, session_sql, 0, NULL, &r) < 0)
        return;
    if (PQntuples(r) == 1) {
        pthread_mutex_lock(&L->state);
        snprintf(L->session_pid, sizeof L->session_pid, "%s",
                 PQgetvalue(r, 0, 0));
        snprintf(L->session_start, sizeof L->session_start, "%s",
                 PQgetvalue(r, 0, 1));
        values[0] = L->session_pid;
        values[1] = L->session_start;
        values[2] = b->mount_id;
        /* The rows of the last session are this one's now (those another
         * mount deleted while the listener was away are lost). */
        exec_text(b, conn, adopt_sql, 3, values, NULL);
        pthread_cond_broadcast(&L->changed);
        pthread_mutex_unlock(&L->state);
    }
    PQclear(r);
}

int pg_locks_start(struct pg_backend *b, char *msg, size_t size)
{
    struct pg_locks *L = calloc(1, sizeof *L);
    int err;

    if (!L)
        return -ENOMEM;
    pthread_mutex_init(&L->lock, NULL);
    pthread_mutex_init(&L->state, NULL);
    pthread_cond_init(&L->changed, NULL);
    b->locks = L;
    err = -pthread_create(&L->thread, NULL, waiter, b);
    if (err < 0) {
        snprintf(msg, size, "cannot start the lock thread: %s",
                 strerror(-err));
        return err;
    }
    L->started = true;
    return 0;
}

void pg_locks_quiesce(struct pg_backend *b)
{
    struct pg_locks *L = b->locks;

    if (!L)
        return;
    pthread_mutex_lock(&L->state);
    L->stopping = true;
    pthread_cond_broadcast(&L->changed);
    pthread_mutex_unlock(&L->state);
    if (L->started) {
        pthread_join(L->thread, NULL);
        L->started = false;
    }
    end_waits(L, true, 0, NULL);
}

void pg_locks_stop(struct pg_backend *b)
{
    struct pg_locks *L = b->locks;

    if (!L)
        return;
    pg_locks_quiesce(b);
    b->locks = NULL;
    free(L->locked);
    pthread_cond_destroy(&L->changed);
    pthread_mutex_destroy(&L->state);
    pthread_mutex_destroy(&L->lock);
    free(L);
}
