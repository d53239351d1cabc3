/**
 * @file pg_internal.h
 * What the files of the PostgreSQL backend share: the backend object, its
 * pool of connections, a transaction, the list of changes a transaction
 * announces to the other mounts, and the steps of opening.
 *
 * - pg.c: transactions and the rows (the table of functions);
 * - pg_sql.c: the SQL of every statement;
 * - pg_open.c: opening and closing the backend;
 * - pg_conn.c: connecting, the pool, reconnecting within the time bound,
 *   and the messages that name why a server cannot serve;
 * - pg_schema.c: the tables, created on the first mount, checked after;
 * - pg_notify.c: LISTEN/NOTIFY between the mounts of one database;
 * - pg_async.c: reads answered later, from libpq's asynchronous API;
 * - pg_lock.c: POSIX and flock locks across the mounts.
 */
#ifndef SQLFS_PG_INTERNAL_H
#define SQLFS_PG_INTERNAL_H

#include "backend.h"

#include <libpq-fe.h>
#include <pthread.h>

/** Connections in the pool: transactions that run side by side. */
#define PG_POOL_SIZE 4

/** Statements a transaction may have in its pipeline at once (pg.c). */
#define PG_PIPELINE_MAX 64

/** The NOTIFY channel of a volume (one database is one volume). */
#define PG_CHANNEL "sqlfs_changes"

/** Longest NOTIFY payload PostgreSQL takes is 8000 bytes; stay below. */
#define PG_PAYLOAD_MAX 7900

/** The key of the advisory lock that serializes writing transactions
 *  across every mount of the database ("SQLF"). */
#define PG_WRITE_LOCK_KEY 0x53514c46

/** The prepared statements, by purpose (pg_sql.c holds their SQL). */
enum pg_stmt {
    PG_INODE_GET,
    PG_INODE_UPDATE,
    PG_INODE_INSERT,
    PG_INODE_DELETE,
    PG_LINK_TARGET,
    PG_ENTRY_FIND,
    PG_ENTRY_INSERT,
    PG_ENTRY_RETARGET,
    PG_ENTRY_DELETE,
    PG_ENTRY_PARENT,
    PG_ENTRY_LIST,
    PG_ENTRY_NAMES,
    PG_CHUNK_READ,
    PG_CHUNK_WRITE,
    PG_CHUNK_DELETE,
    PG_CHUNK_BYTES,
    PG_XATTR_GET,
    PG_XATTR_SET,
    PG_XATTR_REMOVE,
    PG_XATTR_LIST,
    PG_ORPHAN_ADD,
    PG_ORPHAN_NEXT,
    PG_USAGE,
    PG_STMT_COUNT
};

/** The SQL of each statement (pg_sql.c). */
extern const char *const pg_stmt_sql[PG_STMT_COUNT];

/** One connection of the pool. */
struct pg_slot {
    PGconn *conn;  /**< NULL while it is down */
    bool busy;     /**< a transaction holds it */
    bool prepared; /**< the statements are prepared on it */
};

/** The state of the server as the backend last saw it. */
enum pg_state {
    PG_STATE_UP,          /**< the last round trip worked */
    PG_STATE_RECONNECTING, /**< a connection broke; retrying */
    PG_STATE_DOWN          /**< it stayed away past the bound: requests
                                fail with EIO, and retry */
};

/** A running transaction: a connection of the pool, the statements in its
 *  pipeline (pg.c), and what it changed. */
struct sqlfs_txn {
    struct pg_backend *b;
    struct pg_slot *slot;  /**< NULL once a reconnection failed */
    bool write;
    bool begun;            /**< BEGIN was sent */
    int pending;           /**< statements sent whose results are unread */
    int missing[PG_PIPELINE_MAX]; /**< for each: the error that no row
                                       changed means (0: none) */
    char changes[PG_PAYLOAD_MAX + 1]; /**< payload of its NOTIFY */
    size_t changes_len;
    bool changes_overflow; /**< too many to list: announce "everything" */
};

/** The PostgreSQL backend: what a struct sqlfs_backend pointer points to. */
struct pg_backend {
    struct sqlfs_backend base; /**< first: the pointer fs_ops.c holds */
    char *conninfo;            /**< the DATABASE operand */
    char *label;               /**< it, without a password, for messages */
    pthread_mutex_t lock;      /**< guards the pool and state */
    pthread_cond_t freed;      /**< a slot became free */
    struct pg_slot slots[PG_POOL_SIZE];
    enum pg_state state;
    unsigned reconnects;       /**< connections re-made after a break */
    char last_error[256];      /**< the server's last error message */
    unsigned timeout_ms;       /**< how long a request waits for a server
                                    that went away before -EIO */
    bool full_sync;
    bool read_only;
    bool case_insensitive;
    char mount_id[40];         /**< this mount, in its NOTIFY payloads */
    sqlfs_change_fn *changed;  /**< where changes of the others go */
    void *changed_context;
    sqlfs_state_fn *published; /**< where the state lines go, or NULL */
    unsigned read_delay_ms;    /**< debugging: pg_sleep in every async read */
    struct pg_async *async;    /**< the read engine (pg_async.c), or NULL */
    struct pg_locks *locks;    /**< the lock table (pg_lock.c), or NULL */
    pthread_t listener;        /**< pg_notify.c */
    bool listening;
    int stop_pipe[2];          /**< wakes the listener to stop */
};

/**
 * Open a connection to the server with the defaults sqlfs adds (a
 * connect timeout, keepalives, the application name, the durability of
 * commits).
 * @param out        out: the connection
 * @param msg, size  on failure, a sentence naming the cause and the fix
 * @return 0; -EACCES (credentials), -ENOENT (no such database),
 *         -EHOSTUNREACH (no server there)
 */
int pg_connect(struct pg_backend *b, PGconn **out, char *msg, size_t size);

/**
 * Take a free connection of the pool, (re)connecting it, waiting up to
 * b->timeout_ms for a server that went away.
 * @return 0, -EIO when the server stays away past the bound
 */
int pg_slot_take(struct pg_backend *b, struct pg_slot **out);

/** Give a connection back; @p broken: it failed, close it. */
void pg_slot_give(struct pg_backend *b, struct pg_slot *slot, bool broken);

/** Close every connection of the pool. */
void pg_pool_close(struct pg_backend *b);

/**
 * The errno for a failed result (NULL: the connection broke), logging the
 * server's message: -EEXIST for a unique violation, -ENOSPC for a full
 * disk, -EROFS for a read-only transaction, -EIO for the rest.
 */
int pg_error_of(struct pg_backend *b, PGconn *conn, const PGresult *r);

/**
 * Make sure the database holds an sqlfs schema this program reads:
 * create it in a database without tables (if @p create), else check it.
 * @return 0; -EPROTO for a foreign schema, -EPROTONOSUPPORT for a newer
 *         one, -ENOENT for an empty database without create, -EIO
 */
int pg_schema_prepare(struct pg_backend *b, PGconn *conn, bool create,
                      char *msg, size_t size);

/** Start the thread that LISTENs for the other mounts' changes.
 *  @return 0 or -errno */
int pg_notify_start(struct pg_backend *b, char *msg, size_t size);

/** Stop it (nothing if it does not run). */
void pg_notify_stop(struct pg_backend *b);

/** Note that the transaction changed inode @p ino ('a': attributes, 'd':
 *  data too) for its NOTIFY. */
void pg_note_inode(struct sqlfs_txn *t, char kind, uint64_t ino);

/** Note that the transaction changed the entry @p name of @p parent. */
void pg_note_entry(struct sqlfs_txn *t, uint64_t parent, const char *name);

/** Start the read engine (pg_async.c). @return 0 or -errno */
int pg_async_start(struct pg_backend *b, char *msg, size_t size);

/** Stop it, after the reads it holds are done (nothing if not started). */
void pg_async_stop(struct pg_backend *b);

/** See sqlfs_backend_ops::read_async. */
int pq_read_async(struct sqlfs_backend *base, uint64_t ino, uint64_t offset,
                  size_t length, void *buf, sqlfs_read_done_fn *done,
                  void *context);

/** See sqlfs_backend_ops::quiesce. */
void pq_quiesce(struct sqlfs_backend *base);

/** The table of locks, created with the other tables and, on a volume
 *  made before it, at the first mount that serves locks (pg_lock.c). */
extern const char pg_locks_table_sql[];

/** Start the lock table's thread, which grants waiting locks
 *  (pg_lock.c). @return 0 or -errno */
int pg_locks_start(struct pg_backend *b, char *msg, size_t size);

/** End every waiting lock with -EINTR and stop the thread (nothing if not
 *  started). */
void pg_locks_quiesce(struct pg_backend *b);

/** Drop this mount's locks from the table and free it (after quiesce). */
void pg_locks_stop(struct pg_backend *b);

/**
 * The listener's connection @p conn is this mount's lock session: the
 * locks the mount holds live as long as it does (its row in
 * pg_stat_activity). Called after each (re)connection of the listener.
 */
void pg_locks_session(struct pg_backend *b, PGconn *conn);

/** Another mount changed the locks: try the waiting ones again. */
void pg_locks_kick(struct pg_backend *b);

/** See sqlfs_backend_ops::lock_test. */
int pq_lock_test(struct sqlfs_backend *base, uint64_t ino,
                 const struct sqlfs_lock *want, struct sqlfs_lock *conflict);

/** See sqlfs_backend_ops::lock_set. */
int pq_lock_set(struct sqlfs_backend *base, uint64_t ino,
                const struct sqlfs_lock *want, unsigned flags,
                sqlfs_lock_done_fn *done, void *context, uint64_t tag);

/**
 * The backend's state as lines of "name value" (the server, connected,
 * reconnecting or down, connections in use, reads and locks pending, the
 * last error), for `fsptool stat`.
 */
void pg_state_text(struct pg_backend *b, char *out, size_t size);

/** Reads queued or at the server (pg_async.c). */
unsigned pg_async_pending(struct pg_backend *b);

/** Lock requests waiting (pg_lock.c). */
unsigned pg_locks_waiting(struct pg_backend *b);

/**
 * Make the transaction's connection take statements of its own (PQexec):
 * BEGIN sent, and every result in its pipeline read (pg.c).
 * @return 0 or -errno (a deferred statement's error)
 */
int pg_txn_ready(struct sqlfs_txn *t);

/** See sqlfs_backend_ops::open. */
int pg_backend_open(const struct sqlfs_open_options *o, char *msg,
                    size_t size, struct sqlfs_backend **out);

/** See sqlfs_backend_ops::close. */
void pg_backend_close(struct sqlfs_backend *base);

#endif
