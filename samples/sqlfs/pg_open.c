/**
 * @file pg_open.c
 * Opening a PostgreSQL database for sqlfs: the connection string, the
 * first connection (whose failure names its cause and fix), the schema,
 * the listener of the other mounts' changes; and closing it.
 */
#define _GNU_SOURCE

#include "pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long a request waits for a server that went away, by default. */
#define PG_DEFAULT_TIMEOUT_MS 10000

/* The connection string without its password, for messages and logs:
 * "dbname=fs host=db port=5432 user=me". */
static int make_label(struct pg_backend *b, char *msg, size_t size)
{
    static const char *const shown[] = {"dbname", "host", "hostaddr",
                                        "port", "user"};
    char label[512] = "", *err = NULL;
    PQconninfoOption *opts, *o;
    size_t i, len = 0;

    opts = PQconninfoParse(b->conninfo, &err);
    if (!opts) {
        if (err && strchr(err, '\n'))
            *strchr(err, '\n') = 0;
        snprintf(msg, size,
                 "\"%s\" is not a PostgreSQL connection string or URI (%s): "
                 "write it as postgresql://[user@]host[:port]/dbname or "
                 "\"host=... dbname=...\"",
                 b->conninfo, err ? err : "out of memory");
        PQfreemem(err);
        return err ? -EINVAL : -ENOMEM;
    }
    for (i = 0; i < sizeof shown / sizeof shown[0]; i++)
        for (o = opts; o->keyword; o++)
            if (strcmp(o->keyword, shown[i]) == 0 && o->val && o->val[0] &&
                len < sizeof label)
                len += (size_t)snprintf(label + len, sizeof label - len,
                                        "%s%s=%s", len ? " " : "", o->keyword,
                                        o->val);
    PQconninfoFree(opts);
    b->label = strdup(len ? label : "the default PostgreSQL database");
    return b->label ? 0 : -ENOMEM;
}

void pg_backend_close(struct sqlfs_backend *base)
{
    struct pg_backend *b = (struct pg_backend *)base;

    if (!b)
        return;
    pg_async_stop(b);
    pg_notify_stop(b);
    pg_locks_stop(b); /* after the listener, which names its session */
    pg_pool_close(b);
    pthread_cond_destroy(&b->freed);
    pthread_mutex_destroy(&b->lock);
    free(b->conninfo);
    free(b->label);
    free(b);
}

int pg_backend_open(const struct sqlfs_open_options *o, char *msg,
                    size_t size, struct sqlfs_backend **out)
{
    struct pg_backend *b;
    struct timespec now;
    PGconn *conn = NULL;
    int err;

    *out = NULL;
    msg[0] = 0;
    b = calloc(1, sizeof *b);
    if (!b)
        return -ENOMEM;
    b->base.ops = &sqlfs_pg_ops;
    pthread_mutex_init(&b->lock, NULL);
    pthread_cond_init(&b->freed, NULL);
    b->stop_pipe[0] = b->stop_pipe[1] = -1;
    b->timeout_ms = o->timeout_ms ? o->timeout_ms : PG_DEFAULT_TIMEOUT_MS;
    b->full_sync = o->full_sync;
    b->read_only = o->read_only;
    b->case_insensitive = o->case_insensitive;
    b->read_delay_ms = o->read_delay_ms;
    b->changed = o->changed;
    b->changed_context = o->changed_context;
    b->published = o->published;
    /* This mount, in its NOTIFY payloads, so that it skips its own. */
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(b->mount_id, sizeof b->mount_id, "m%ldx%lx", (long)getpid(),
             (unsigned long)(now.tv_nsec ^ now.tv_sec));
    b->conninfo = strdup(o->database);
    if (!b->conninfo) {
        err = -ENOMEM;
        goto out;
    }
    err = make_label(b, msg, size);
    if (err < 0)
        goto out;
    err = pg_connect(b, &conn, msg, size);
    if (err < 0)
        goto out;
    err = pg_schema_prepare(b, conn, o->create && !o->read_only, msg, size);
    if (err < 0)
        goto out;
    b->slots[0].conn = conn; /* the pool's first; prepared when taken */
    conn = NULL;
    /* The lock table first: the listener gives it its session. */
    if (b->changed && !b->read_only)
        err = pg_locks_start(b, msg, size);
    if (err == 0 && b->changed && !b->read_only)
        err = pg_notify_start(b, msg, size);
    if (err == 0 && b->changed) /* a mount, not --check */
        err = pg_async_start(b, msg, size);
out:
    PQfinish(conn);
    if (err < 0) {
        if (err == -ENOMEM && !msg[0])
            snprintf(msg, size, "out of memory");
        pg_backend_close(&b->base);
        return err;
    }
    *out = &b->base;
    return 0;
}
