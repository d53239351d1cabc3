/**
 * @file pg_conn.c
 * The connections of the PostgreSQL backend: opening one with sqlfs's
 * defaults, the messages that say why a server cannot serve (unreachable,
 * bad credentials, no such database), the pool that transactions take
 * connections from, reconnecting within the volume's time bound when
 * the server went away, and the state lines that `fsptool stat` shows.
 */
#define _GNU_SOURCE

#include "pg_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Pause between two attempts to reach a server that went away. */
#define RETRY_PAUSE_MS 100

static double now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* The server's message, on one line. */
static void one_line(const char *in, char *out, size_t size)
{
    size_t n;

    snprintf(out, size, "%s", in ? in : "");
    for (n = 0; out[n]; n++)
        if (out[n] == '\n' || out[n] == '\t')
            out[n] = ' ';
    while (n > 0 && out[n - 1] == ' ')
        out[--n] = 0;
}

/* Why a connection failed, as a sentence with the fix; the errno. */
static int explain(struct pg_backend *b, PGconn *conn, char *msg, size_t size)
{
    char why[512];

    one_line(conn ? PQerrorMessage(conn) : "out of memory", why, sizeof why);
    if (strstr(why, "password authentication failed") ||
        strstr(why, "no password supplied") ||
        strstr(why, "authentication failed") ||
        (strstr(why, "role \"") && strstr(why, "does not exist"))) {
        snprintf(msg, size,
                 "the PostgreSQL server of %s refused the credentials (%s): "
                 "give the right user and password (user= and password= in "
                 "DATABASE, PGPASSWORD or ~/.pgpass), or ask its "
                 "administrator to let that role log in (pg_hba.conf)",
                 b->label, why);
        return -EACCES;
    }
    if (strstr(why, "database \"") && strstr(why, "does not exist")) {
        snprintf(msg, size,
                 "%s: the database does not exist (%s): create it first "
                 "(createdb NAME, or CREATE DATABASE); sqlfs creates its "
                 "tables on the first mount, not the database",
                 b->label, why);
        return -ENOENT;
    }
    snprintf(msg, size,
             "cannot reach the PostgreSQL server of %s (%s): check that it "
             "runs, the host and port (or socket directory) in DATABASE, and "
             "that it accepts connections from here (listen_addresses, "
             "pg_hba.conf)",
             b->label, why);
    return -EHOSTUNREACH;
}

int pg_connect(struct pg_backend *b, PGconn **out, char *msg, size_t size)
{
    char timeout[24], user_timeout[24], settings[64];
    const char *keys[] = {"connect_timeout", "tcp_user_timeout",
                          "keepalives_idle", "keepalives_interval",
                          "keepalives_count", "fallback_application_name",
                          "options", "dbname", NULL};
    const char *values[] = {timeout, user_timeout, "5", "2", "3", "sqlfs",
                            settings, b->conninfo, NULL};
    PGconn *conn;
    int err;

    *out = NULL;
    /* Seconds, at least 2 (libpq's smallest useful value). */
    snprintf(timeout, sizeof timeout, "%u",
             b->timeout_ms / 1000 > 2 ? b->timeout_ms / 1000 : 2);
    snprintf(user_timeout, sizeof user_timeout, "%u", b->timeout_ms);
    /* A commit is durable when the server answers it with sync=full;
     * otherwise when sync() has run (pg.c). */
    snprintf(settings, sizeof settings, "-c synchronous_commit=%s",
             b->full_sync ? "on" : "off");
    conn = PQconnectdbParams(keys, values, 1);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        err = explain(b, conn, msg, size);
        PQfinish(conn);
        return err;
    }
    *out = conn;
    return 0;
}

/* Prepare every statement on a new connection. */
static int prepare(struct pg_backend *b, PGconn *conn)
{
    char name[16];
    PGresult *r;
    int i, err = 0;

    for (i = 0; i < PG_STMT_COUNT && err == 0; i++) {
        snprintf(name, sizeof name, "s%d", i);
        r = PQprepare(conn, name, pg_stmt_sql[i], 0, NULL);
        if (PQresultStatus(r) != PGRES_COMMAND_OK)
            err = pg_error_of(b, conn, r);
        PQclear(r);
    }
    return err;
}

/* Remember the last error, for the state lines. (b->lock held) */
static void note_error(struct pg_backend *b, const char *why)
{
    size_t n;

    if (!why || !why[0])
        return;
    n = strnlen(why, sizeof b->last_error - 1); /* cut: a line of stat */
    memcpy(b->last_error, why, n);
    b->last_error[n] = 0;
}

/* Note a state change of the server, in the log. */
static void set_state(struct pg_backend *b, enum pg_state state,
                      const char *why)
{
    static const char *const told[] = {
        [PG_STATE_UP] = "reconnected to the server",
        [PG_STATE_RECONNECTING] = "lost the server, reconnecting",
        [PG_STATE_DOWN] = "the server stays away past server_timeout: "
                          "requests fail with EIO until it is back",
    };

    pthread_mutex_lock(&b->lock);
    note_error(b, why);
    if (b->state != state) {
        if (state == PG_STATE_UP)
            b->reconnects++;
        /* Down is told once, until the server is back. */
        if (!(state == PG_STATE_RECONNECTING && b->state == PG_STATE_DOWN)) {
            b->state = state;
            fprintf(stderr, "sqlfs: %s: %s%s%s\n", b->label, told[state],
                    why ? ": " : "", why ? why : "");
        }
    }
    pthread_mutex_unlock(&b->lock);
}

void pg_state_text(struct pg_backend *b, char *out, size_t size)
{
    static const char *const names[] = {
        [PG_STATE_UP] = "connected",
        [PG_STATE_RECONNECTING] = "reconnecting",
        [PG_STATE_DOWN] = "down",
    };
    unsigned busy = 0, reconnects;
    char last_error[sizeof b->last_error];
    enum pg_state state;
    int i;

    pthread_mutex_lock(&b->lock);
    for (i = 0; i < PG_POOL_SIZE; i++)
        busy += b->slots[i].busy;
    state = b->state;
    reconnects = b->reconnects;
    memcpy(last_error, b->last_error, sizeof last_error);
    pthread_mutex_unlock(&b->lock);
    snprintf(out, size,
             "backend postgresql\n"
             "server %s\n"
             "state %s\n"
             "connections_in_use %u of %d\n"
             "pending_reads %u\n"
             "lock_waits %u\n"
             "reconnects %u\n"
             "last_error %s\n",
             b->label, names[state], busy, PG_POOL_SIZE, pg_async_pending(b),
             pg_locks_waiting(b), reconnects,
             last_error[0] ? last_error : "none");
}

/* Make @p slot's connection work, trying until @p deadline. */
static int revive(struct pg_backend *b, struct pg_slot *slot, double deadline)
{
    char msg[1024];
    double left;

    for (;;) {
        if (slot->conn && PQstatus(slot->conn) == CONNECTION_OK &&
            !slot->prepared && prepare(b, slot->conn) == 0)
            slot->prepared = true; /* the connection open() made */
        if (slot->conn && PQstatus(slot->conn) == CONNECTION_OK &&
            slot->prepared)
            return 0;
        PQfinish(slot->conn);
        slot->prepared = false;
        pg_connect(b, &slot->conn, msg, sizeof msg);
        if (slot->conn && prepare(b, slot->conn) == 0) {
            slot->prepared = true;
            set_state(b, PG_STATE_UP, NULL);
            return 0;
        }
        if (slot->conn) {
            PQfinish(slot->conn);
            slot->conn = NULL;
        }
        set_state(b, PG_STATE_RECONNECTING, msg);
        left = deadline - now_ms();
        if (left <= 0) {
            set_state(b, PG_STATE_DOWN, msg);
            return -EIO;
        }
        usleep((useconds_t)(1000 * (left < RETRY_PAUSE_MS ? left : RETRY_PAUSE_MS)));
    }
}

int pg_slot_take(struct pg_backend *b, struct pg_slot **out)
{
    double deadline = now_ms() + b->timeout_ms;
    struct pg_slot *slot = NULL;
    int i, err;

    *out = NULL;
    pthread_mutex_lock(&b->lock);
    while (!slot) {
        for (i = 0; i < PG_POOL_SIZE && !slot; i++)
            if (!b->slots[i].busy)
                slot = &b->slots[i];
        if (!slot)
            pthread_cond_wait(&b->freed, &b->lock);
    }
    slot->busy = true;
    pthread_mutex_unlock(&b->lock);
    err = revive(b, slot, deadline);
    if (err < 0) {
        pg_slot_give(b, slot, true);
        return err;
    }
    *out = slot;
    return 0;
}

void pg_slot_give(struct pg_backend *b, struct pg_slot *slot, bool broken)
{
    if (broken) {
        PQfinish(slot->conn);
        slot->conn = NULL;
        slot->prepared = false;
    }
    pthread_mutex_lock(&b->lock);
    slot->busy = false;
    pthread_cond_signal(&b->freed);
    pthread_mutex_unlock(&b->lock);
}

void pg_pool_close(struct pg_backend *b)
{
    int i;

    for (i = 0; i < PG_POOL_SIZE; i++) {
        PQfinish(b->slots[i].conn);
        b->slots[i].conn = NULL;
    }
}

int pg_error_of(struct pg_backend *b, PGconn *conn, const PGresult *r)
{
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    char why[512];

    if (state && strcmp(state, "23505") == 0)
        return -EEXIST; /* unique_violation */
    if (state && strcmp(state, "53100") == 0)
        return -ENOSPC; /* disk_full */
    if (state && strcmp(state, "25006") == 0)
        return -EROFS; /* read_only_sql_transaction */
    one_line(r && PQresultErrorMessage(r)[0] ? PQresultErrorMessage(r)
                                             : PQerrorMessage(conn),
             why, sizeof why);
    if (PQstatus(conn) != CONNECTION_OK) {
        set_state(b, PG_STATE_RECONNECTING, why);
    } else {
        fprintf(stderr, "sqlfs: %s: postgresql: %s (SQLSTATE %s)\n",
                b->label, why, state ? state : "none");
        pthread_mutex_lock(&b->lock);
        note_error(b, why);
        pthread_mutex_unlock(&b->lock);
    }
    return -EIO;
}
