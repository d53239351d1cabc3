/**
 * @file sqlite_open.c
 * Opening an SQLite database for sqlfs: the file and its lock (flock:
 * exclusive for a mount, shared for --check), the checks that name what
 * is wrong with a file that cannot serve (read-only, foreign, newer), the
 * schema, WAL mode and the durability setting; and closing it.
 */
#define _GNU_SOURCE

#include "schema.h"
#include "sqlite_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

void sqlite_backend_close(struct sqlfs_backend *base)
{
    struct sqlite_backend *b = (struct sqlite_backend *)base;
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

/* How long a mount waits for the lock of a database another sqlfs holds:
 * after an unmount, umount(8) returns before that daemon has closed the
 * database, and a mount right after it (a remount, as xfstests does them)
 * must not be refused for that. */
#define LOCK_WAIT_MS 3000
#define LOCK_POLL_MS 20

/* flock(@fd, @how | LOCK_NB), tried again for up to LOCK_WAIT_MS while
 * another holds the lock. 0, or -1 with errno (EWOULDBLOCK: still held). */
static int take_lock(int fd, int how)
{
    for (int waited = 0;; waited += LOCK_POLL_MS) {
        if (flock(fd, how | LOCK_NB) == 0)
            return 0;
        if (errno != EWOULDBLOCK || waited >= LOCK_WAIT_MS)
            return -1;
        usleep(LOCK_POLL_MS * 1000);
    }
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
    if (take_lock(b->lock_fd, o->exclusive ? LOCK_EX : LOCK_SH) < 0) {
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

int sqlite_backend_open(const struct sqlfs_open_options *o, char *msg,
                        size_t size, struct sqlfs_backend **out)
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
    err = sqlite_prepare_statements(b, msg, size);
out:
    if (err < 0) {
        if (err == -ENOMEM && !msg[0])
            snprintf(msg, size, "out of memory");
        sqlite_backend_close(&b->base);
        return err;
    }
    *out = &b->base;
    return 0;
}
