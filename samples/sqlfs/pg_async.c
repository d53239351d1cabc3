/**
 * @file pg_async.c
 * Reads that do not hold a worker thread: libpq's asynchronous API on a
 * pool of connections of their own, one thread polling their sockets.
 *
 * pq_read_async() queues the read and returns; sqlfs's read callback then
 * returns FSP_PENDING. The engine's thread gives each queued read to an
 * idle connection (PQsendQueryPrepared: one statement, so one snapshot,
 * that returns the file's size and the chunks the range touches), polls
 * the sockets of the busy ones, and when a result is complete copies the
 * bytes into the request's buffer and calls its done function, which
 * answers the kernel (fsp_fs_send_response()). PG_ASYNC_CONNS reads are
 * at the server at once; more wait in the queue.
 *
 * The engine connects its connections when it starts (in the background:
 * the mount does not wait; reads that come first wait for it) and says
 * so in the log ("read engine ready").
 *
 * A read that finds no connection (the server went away) stays queued and
 * the engine tries to connect every 100 ms, until the read's deadline
 * (the volume's server_timeout) fails it with EIO. A connection that
 * breaks under a read fails that read with EIO; the next one connects
 * again.
 */
#define _GNU_SOURCE

#include "pg_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Connections of the engine: reads at the server at once. */
#define PG_ASYNC_CONNS 16

/* The one statement of a read: the size, and the chunks first..last. */
static const char read_sql[] =
    "SELECT i.size, c.idx, c.data FROM inodes i LEFT JOIN chunks c ON "
    "c.ino = i.ino AND c.idx >= $2 AND c.idx <= $3 WHERE i.ino = $1";
/* The same after pg_sleep($4) (the debugging option read_delay_ms). */
static const char read_sql_delayed[] =
    "WITH d AS MATERIALIZED (SELECT pg_sleep($4::float8)) SELECT i.size, "
    "c.idx, c.data FROM d, inodes i LEFT JOIN chunks c ON c.ino = i.ino AND "
    "c.idx >= $2 AND c.idx <= $3 WHERE i.ino = $1";

/* A queued or running read. */
struct pg_read {
    uint64_t ino, offset;
    size_t length;
    unsigned char *buf;
    sqlfs_read_done_fn *done;
    void *context;
    double deadline; /* CLOCK_MONOTONIC ms: EIO if not sent by then */
    struct pg_read *next;
};

/* A connection of the engine and the read it runs. */
struct pg_async_conn {
    PGconn *conn;
    struct pg_read *read;
    PGresult *result;
};

struct pg_async {
    struct pg_backend *b;
    pthread_t thread;
    int wake[2];                 /* a byte: look at the queue (or stop) */
    pthread_mutex_t lock;        /* guards the queue, running, stopping */
    pthread_cond_t idle;         /* nothing queued nor running */
    struct pg_read *head, *tail; /* queued */
    unsigned running;            /* queued + at the server */
    bool stopping;
    struct pg_async_conn conns[PG_ASYNC_CONNS];
};

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* A bigint of a binary result. */
static uint64_t be64(const char *v)
{
    const unsigned char *u = (const unsigned char *)v;
    uint64_t x = 0;
    int i;

    for (i = 0; i < 8; i++)
        x = x << 8 | u[i];
    return x;
}

/* Call the read's done function and forget it. */
static void finish(struct pg_async *a, struct pg_read *r, int error,
                   size_t bytes)
{
    r->done(r->context, error, bytes);
    free(r);
    pthread_mutex_lock(&a->lock);
    if (--a->running == 0)
        pthread_cond_broadcast(&a->idle);
    pthread_mutex_unlock(&a->lock);
}

/* The bytes of a read from its result. @return bytes, or -errno */
static long copy_result(const struct pg_read *r, const PGresult *res)
{
    uint64_t size, start, end, from, to;
    size_t length = r->length;
    int i;

    if (PQresultStatus(res) != PGRES_TUPLES_OK)
        return -EIO;
    if (PQntuples(res) == 0)
        return -ENOENT;
    size = be64(PQgetvalue(res, 0, 0));
    if (r->offset >= size)
        return 0;
    if (length > size - r->offset)
        length = (size_t)(size - r->offset);
    memset(r->buf, 0, length); /* holes */
    for (i = 0; i < PQntuples(res); i++) {
        if (PQgetisnull(res, i, 1))
            continue; /* no chunk in the range: all hole */
        start = be64(PQgetvalue(res, i, 1)) * SQLFS_CHUNK_SIZE;
        end = start + (uint64_t)PQgetlength(res, i, 2);
        from = start > r->offset ? start : r->offset;
        to = end < r->offset + length ? end : r->offset + length;
        if (from < to)
            memcpy(r->buf + (from - r->offset),
                   PQgetvalue(res, i, 2) + (from - start), to - from);
    }
    return (long)length;
}

/* Connect @p c and prepare the read statement. @return 0 or -EIO */
static int connect_one(struct pg_async *a, struct pg_async_conn *c)
{
    char msg[1024];
    PGresult *res;

    if (pg_connect(a->b, &c->conn, msg, sizeof msg) < 0)
        return -EIO;
    res = PQprepare(c->conn, "read",
                    a->b->read_delay_ms ? read_sql_delayed : read_sql, 0,
                    NULL);
    if (PQresultStatus(res) != PGRES_COMMAND_OK ||
        PQsetnonblocking(c->conn, 1) != 0) {
        pg_error_of(a->b, c->conn, res);
        PQclear(res);
        PQfinish(c->conn);
        c->conn = NULL;
        return -EIO;
    }
    PQclear(res);
    return 0;
}

/* Send read @p r on connection @p c. @return 0 or -EIO */
static int send_read(struct pg_async *a, struct pg_async_conn *c,
                     struct pg_read *r)
{
    char key[3][24], delay[32];
    const char *values[4] = {key[0], key[1], key[2], delay};
    uint64_t first = r->offset / SQLFS_CHUNK_SIZE;
    uint64_t last = (r->offset + (r->length ? r->length - 1 : 0)) /
                    SQLFS_CHUNK_SIZE;

    snprintf(key[0], sizeof key[0], "%llu", (unsigned long long)r->ino);
    snprintf(key[1], sizeof key[1], "%llu", (unsigned long long)first);
    snprintf(key[2], sizeof key[2], "%llu", (unsigned long long)last);
    snprintf(delay, sizeof delay, "%.3f", a->b->read_delay_ms / 1000.0);
    if (!PQsendQueryPrepared(c->conn, "read", a->b->read_delay_ms ? 4 : 3,
                             values, NULL, NULL, 1) ||
        PQflush(c->conn) < 0)
        return -EIO;
    c->read = r;
    return 0;
}

/* Give queued reads to idle connections; fail those past their deadline
 * when none can be had. @return true if a read waits for a connection */
static bool dispatch(struct pg_async *a)
{
    struct pg_async_conn *c;
    struct pg_read *r;
    int i;

    for (i = 0; i < PG_ASYNC_CONNS; i++) {
        c = &a->conns[i];
        if (c->read)
            continue;
        pthread_mutex_lock(&a->lock);
        r = a->head;
        if (r && !(a->head = r->next))
            a->tail = NULL;
        pthread_mutex_unlock(&a->lock);
        if (!r)
            return false;
        if ((c->conn && PQstatus(c->conn) == CONNECTION_OK) ||
            connect_one(a, c) == 0) {
            if (send_read(a, c, r) == 0)
                continue;
            PQfinish(c->conn); /* broke while idle */
            c->conn = NULL;
            if (connect_one(a, c) == 0 && send_read(a, c, r) == 0)
                continue;
        }
        /* No server: back to the head of the queue, until its deadline. */
        if (now_ms() >= r->deadline) {
            finish(a, r, -EIO, 0);
            continue;
        }
        pthread_mutex_lock(&a->lock);
        r->next = a->head;
        a->head = r;
        if (!a->tail)
            a->tail = r;
        pthread_mutex_unlock(&a->lock);
        return true;
    }
    return false;
}

/* Read what the server sent on @p c; finish its read when complete. */
static void receive(struct pg_async *a, struct pg_async_conn *c)
{
    PGresult *res;
    long n;

    if (!PQconsumeInput(c->conn)) {
        pg_error_of(a->b, c->conn, NULL);
        PQclear(c->result);
        c->result = NULL;
        finish(a, c->read, -EIO, 0);
        c->read = NULL;
        PQfinish(c->conn);
        c->conn = NULL;
        return;
    }
    while (!PQisBusy(c->conn)) {
        res = PQgetResult(c->conn);
        if (!res) { /* the statement is done */
            n = c->result ? copy_result(c->read, c->result) : -EIO;
            if (n == -EIO && c->result)
                pg_error_of(a->b, c->conn, c->result);
            PQclear(c->result);
            c->result = NULL;
            finish(a, c->read, n < 0 ? (int)n : 0, n < 0 ? 0 : (size_t)n);
            c->read = NULL;
            return;
        }
        PQclear(c->result);
        c->result = res;
    }
}

static void *engine(void *arg)
{
    struct pg_async *a = arg;
    struct pollfd p[PG_ASYNC_CONNS + 1];
    int owner[PG_ASYNC_CONNS + 1];
    bool waiting = false, stop;
    char drain[64];
    int i, n;

    /* The connections up front (a connect and a prepare each), so that
     * the first reads find them ready; one that fails is made later. */
    pthread_mutex_lock(&a->lock);
    stop = a->stopping;
    pthread_mutex_unlock(&a->lock);
    for (i = 0, n = 0; i < PG_ASYNC_CONNS && !stop; i++)
        n += connect_one(a, &a->conns[i]) == 0;
    fprintf(stderr, "sqlfs: %s: read engine ready, %d of %d connections\n",
            a->b->label, n, PG_ASYNC_CONNS);
    for (;;) {
        pthread_mutex_lock(&a->lock);
        stop = a->stopping && a->running == 0;
        pthread_mutex_unlock(&a->lock);
        if (stop)
            break;
        waiting = dispatch(a);
        n = 0;
        p[n++] = (struct pollfd){.fd = a->wake[0], .events = POLLIN};
        for (i = 0; i < PG_ASYNC_CONNS; i++)
            if (a->conns[i].read) {
                owner[n] = i;
                p[n++] = (struct pollfd){.fd = PQsocket(a->conns[i].conn),
                                         .events = POLLIN};
            }
        if (poll(p, (nfds_t)n, waiting ? 100 : 1000) < 0 && errno != EINTR)
            continue;
        if (p[0].revents && read(a->wake[0], drain, sizeof drain) < 0)
            continue;
        for (i = 1; i < n; i++)
            if (p[i].revents)
                receive(a, &a->conns[owner[i]]);
    }
    return NULL;
}

static void wake(struct pg_async *a)
{
    if (write(a->wake[1], "x", 1) < 0 && errno != EAGAIN)
        perror("sqlfs: waking the read engine");
}

int pq_read_async(struct sqlfs_backend *base, uint64_t ino, uint64_t offset,
                  size_t length, void *buf, sqlfs_read_done_fn *done,
                  void *context)
{
    struct pg_backend *b = (struct pg_backend *)base;
    struct pg_async *a = b->async;
    struct pg_read *r;

    if (!a)
        return -ENOTSUP;
    r = calloc(1, sizeof *r);
    if (!r)
        return -ENOMEM;
    *r = (struct pg_read){.ino = ino, .offset = offset, .length = length,
                          .buf = buf, .done = done, .context = context,
                          .deadline = now_ms() + b->timeout_ms};
    pthread_mutex_lock(&a->lock);
    if (a->stopping) {
        pthread_mutex_unlock(&a->lock);
        free(r);
        return -ESHUTDOWN;
    }
    if (a->tail)
        a->tail->next = r;
    else
        a->head = r;
    a->tail = r;
    a->running++;
    pthread_mutex_unlock(&a->lock);
    wake(a);
    return 0;
}

unsigned pg_async_pending(struct pg_backend *b)
{
    struct pg_async *a = b->async;
    unsigned n;

    if (!a)
        return 0;
    pthread_mutex_lock(&a->lock);
    n = a->running;
    pthread_mutex_unlock(&a->lock);
    return n;
}

void pq_quiesce(struct sqlfs_backend *base)
{
    struct pg_async *a = ((struct pg_backend *)base)->async;

    pg_locks_quiesce((struct pg_backend *)base); /* waiting locks: EINTR */
    if (!a)
        return;
    pthread_mutex_lock(&a->lock);
    a->stopping = true;
    while (a->running > 0)
        pthread_cond_wait(&a->idle, &a->lock);
    pthread_mutex_unlock(&a->lock);
}

int pg_async_start(struct pg_backend *b, char *msg, size_t size)
{
    struct pg_async *a = calloc(1, sizeof *a);
    int err;

    if (!a)
        return -ENOMEM;
    a->b = b;
    pthread_mutex_init(&a->lock, NULL);
    pthread_cond_init(&a->idle, NULL);
    if (pipe2(a->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
        err = -errno;
        snprintf(msg, size, "pipe: %s", strerror(errno));
        free(a);
        return err;
    }
    err = -pthread_create(&a->thread, NULL, engine, a);
    if (err < 0) {
        snprintf(msg, size, "cannot start the read engine: %s",
                 strerror(-err));
        close(a->wake[0]);
        close(a->wake[1]);
        free(a);
        return err;
    }
    b->async = a;
    return 0;
}

void pg_async_stop(struct pg_backend *b)
{
    struct pg_async *a = b->async;
    int i;

    if (!a)
        return;
    pq_quiesce(&b->base);
    wake(a);
    pthread_join(a->thread, NULL);
    for (i = 0; i < PG_ASYNC_CONNS; i++)
        PQfinish(a->conns[i].conn);
    close(a->wake[0]);
    close(a->wake[1]);
    pthread_cond_destroy(&a->idle);
    pthread_mutex_destroy(&a->lock);
    free(a);
    b->async = NULL;
}
