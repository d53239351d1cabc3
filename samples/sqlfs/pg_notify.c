/**
 * @file pg_notify.c
 * Coherence between the mounts of one PostgreSQL volume: LISTEN/NOTIFY.
 *
 * A writing transaction lists what it changed (pg_note_inode(),
 * pg_note_entry()) and commits with one NOTIFY on PG_CHANNEL whose
 * payload is the mount's id and the changes:
 *
 *     m1234x5f3a a17 d17 e1:666f6f
 *
 * "aINO": the inode's attributes changed; "dINO": its data too; "lINO":
 * its locks (pg_lock.c: the waiting ones are tried again);
 * "ePARENT:HEX": the entry of that name (in hex) in PARENT appeared,
 * went or names another inode; "*": more than a payload holds. PostgreSQL
 * delivers a notification once its transaction has committed, to every
 * connection that LISTENs, in commit order.
 *
 * Each mount's listener thread has a connection of its own; it polls its
 * socket, turns each inode of a payload from another mount into its path
 * (a recursive query of the entries) and hands the path to the file
 * system (sqlfs_change_fn, which calls fsp_fs_notify()), so that the
 * kernel drops what it cached. It also publishes the backend's state
 * (pg_state_text()) once a second, for fsptool stat. If the listener loses the server it
 * reconnects; what was committed meanwhile is not announced again (the
 * cache timeouts bound how long it may show: docs/SQLFS.md).
 */
#define _GNU_SOURCE

#include "pg_internal.h"

#include <fsp/fsp.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- what a transaction changed ---- */

/* Append one change to the payload, once. */
static void note(struct sqlfs_txn *t, const char *change)
{
    size_t len = strlen(change);
    const char *p = t->changes;

    if (!t->write || t->changes_overflow)
        return;
    while ((p = strstr(p, change)) != NULL) {
        if (p[len] == ' ' || p[len] == 0)
            return; /* already listed */
        p += len;
    }
    if (t->changes_len + len + 1 > PG_PAYLOAD_MAX - sizeof t->b->mount_id) {
        t->changes_overflow = true;
        return;
    }
    t->changes[t->changes_len++] = ' ';
    memcpy(t->changes + t->changes_len, change, len + 1);
    t->changes_len += len;
}

void pg_note_inode(struct sqlfs_txn *t, char kind, uint64_t ino)
{
    char change[32];

    snprintf(change, sizeof change, "%c%llu", kind, (unsigned long long)ino);
    note(t, change);
}

void pg_note_entry(struct sqlfs_txn *t, uint64_t parent, const char *name)
{
    static const char hex[] = "0123456789abcdef";
    char change[32 + 2 * NAME_MAX];
    size_t n;

    n = (size_t)snprintf(change, sizeof change, "e%llu:",
                         (unsigned long long)parent);
    for (; *name && n + 3 < sizeof change; name++) {
        change[n++] = hex[(unsigned char)*name >> 4];
        change[n++] = hex[(unsigned char)*name & 15];
    }
    change[n] = 0;
    note(t, change);
}

/* ---- the listener ---- */

/* The path of inode @p ino from the root: the names up the first entry of
 * each directory, as the server has them now. */
static const char path_sql[] =
    "WITH RECURSIVE up(ino, parent, name, depth) AS ("
    " (SELECT ino, parent, name, 0 FROM dirents WHERE ino = $1 LIMIT 1)"
    " UNION ALL"
    " SELECT d.ino, d.parent, d.name, u.depth + 1 FROM up u CROSS JOIN LATERAL"
    " (SELECT ino, parent, name FROM dirents WHERE ino = u.parent LIMIT 1) d"
    " WHERE u.parent <> 1 AND u.depth < 4096)"
    " SELECT name FROM up ORDER BY depth DESC";

/* The path of @p ino, malloc'd into *@p out with room for "/NAME" more
 * (a path has no length limit: a tree may be deeper than PATH_MAX).
 * @return 0, -ENOENT (no name now), -ENOMEM */
static int path_of(PGconn *conn, uint64_t ino, char **out)
{
    char key[24];
    const char *values[1] = {key};
    PGresult *r = NULL;
    size_t len = 0, size = 2;
    int i, err = 0;

    *out = NULL;
    if (ino != SQLFS_ROOT_INO) {
        snprintf(key, sizeof key, "%llu", (unsigned long long)ino);
        r = PQexecParams(conn, path_sql, 1, NULL, values, NULL, NULL, 1);
        if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) == 0)
            err = -ENOENT;
        for (i = 0; err == 0 && i < PQntuples(r); i++)
            size += 1 + (size_t)PQgetlength(r, i, 0);
    }
    if (err == 0 && !(*out = malloc(size + 1 + NAME_MAX)))
        err = -ENOMEM;
    if (err == 0)
        strcpy(*out, "/");
    for (i = 0; err == 0 && r && i < PQntuples(r); i++) {
        size_t n = (size_t)PQgetlength(r, i, 0);

        (*out)[len++] = '/';
        memcpy(*out + len, PQgetvalue(r, i, 0), n);
        len += n;
        (*out)[len] = 0;
    }
    PQclear(r);
    return err;
}

static int unhex(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                                                  : -1;
}

/* Tell the file system about one change of a payload. */
static void announce(struct pg_backend *b, PGconn *conn, const char *change)
{
    unsigned long long ino = strtoull(change + 1, NULL, 10);
    const char *hex;
    char *path;
    size_t len, name_len = 0;
    int hi, lo;

    if (change[0] == 'l') { /* its locks: try the waiting ones again */
        pg_locks_kick(b);
        return;
    }
    if (change[0] == '*') {
        b->changed(b->changed_context, "/",
                   FSP_NOTIFY_ENTRY | FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA);
        return;
    }
    if (path_of(conn, ino, &path) < 0)
        return; /* gone, or never cached: nothing to drop */
    if (change[0] == 'a' || change[0] == 'd') {
        b->changed(b->changed_context, path,
                   change[0] == 'a' ? FSP_NOTIFY_ATTR
                                    : FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA);
        goto out;
    }
    if (change[0] != 'e' || !(hex = strchr(change, ':')))
        goto out;
    b->changed(b->changed_context, path, FSP_NOTIFY_ATTR); /* the directory */
    len = strlen(path);
    if (len > 1)
        path[len++] = '/';
    /* path_of() left room for a name of NAME_MAX bytes. */
    for (hex++; hex[0] && hex[1] && name_len < NAME_MAX; hex += 2) {
        hi = unhex(hex[0]);
        lo = unhex(hex[1]);
        if (hi < 0 || lo < 0)
            goto out;
        path[len++] = (char)(hi << 4 | lo);
        name_len++;
    }
    path[len] = 0;
    b->changed(b->changed_context, path, FSP_NOTIFY_ENTRY);
out:
    free(path);
}

/* Every change of a payload not from this mount. */
static void handle(struct pg_backend *b, PGconn *conn, char *payload)
{
    char *save = NULL, *tok = strtok_r(payload, " ", &save);

    if (!tok || strcmp(tok, b->mount_id) == 0)
        return;
    while ((tok = strtok_r(NULL, " ", &save)) != NULL)
        announce(b, conn, tok);
}

/* Connect and LISTEN. @return the connection, or NULL */
static PGconn *listen_conn(struct pg_backend *b)
{
    char msg[1024];
    PGconn *conn = NULL;
    PGresult *r;

    if (pg_connect(b, &conn, msg, sizeof msg) < 0)
        return NULL;
    r = PQexec(conn, "LISTEN " PG_CHANNEL);
    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        PQfinish(conn);
        conn = NULL;
    }
    PQclear(r);
    if (conn) /* the mount's locks live as long as this connection */
        pg_locks_session(b, conn);
    return conn;
}

/* Wait up to @p ms for the stop pipe. @return true to stop */
static bool stopping(struct pg_backend *b, int ms)
{
    struct pollfd p = {.fd = b->stop_pipe[0], .events = POLLIN};

    return poll(&p, 1, ms) > 0;
}

/* Publish the backend's state lines (fsptool stat). */
static void publish(struct pg_backend *b)
{
    char text[1024];

    if (!b->published)
        return;
    pg_state_text(b, text, sizeof text);
    b->published(b->changed_context, text);
}

static void *listener(void *arg)
{
    struct pg_backend *b = arg;
    PGconn *conn = listen_conn(b);
    PGnotify *n;
    struct pollfd p[2];

    for (;;) {
        publish(b); /* at least once a second */
        if (!conn) {
            if (stopping(b, 200))
                break;
            conn = listen_conn(b);
            continue;
        }
        p[0] = (struct pollfd){.fd = PQsocket(conn), .events = POLLIN};
        p[1] = (struct pollfd){.fd = b->stop_pipe[0], .events = POLLIN};
        if (poll(p, 2, 1000) < 0 && errno != EINTR)
            break;
        if (p[1].revents)
            break;
        if (p[0].revents && !PQconsumeInput(conn)) {
            PQfinish(conn); /* the server went away: listen again */
            conn = NULL;
            continue;
        }
        while ((n = PQnotifies(conn)) != NULL) {
            handle(b, conn, n->extra);
            PQfreemem(n);
        }
    }
    PQfinish(conn);
    return NULL;
}

int pg_notify_start(struct pg_backend *b, char *msg, size_t size)
{
    int err;

    if (pipe2(b->stop_pipe, O_CLOEXEC) < 0) {
        err = -errno;
        snprintf(msg, size, "pipe: %s", strerror(errno));
        return err;
    }
    err = -pthread_create(&b->listener, NULL, listener, b);
    if (err < 0) {
        snprintf(msg, size, "cannot start the listener thread: %s",
                 strerror(-err));
        return err;
    }
    b->listening = true;
    return 0;
}

void pg_notify_stop(struct pg_backend *b)
{
    if (b->listening) {
        if (write(b->stop_pipe[1], "x", 1) < 0)
            perror("sqlfs: stopping the listener");
        pthread_join(b->listener, NULL);
        b->listening = false;
    }
    if (b->stop_pipe[0] >= 0)
        close(b->stop_pipe[0]);
    if (b->stop_pipe[1] >= 0)
        close(b->stop_pipe[1]);
    b->stop_pipe[0] = b->stop_pipe[1] = -1;
}
