/**
 * @file backend.h
 * The storage interface of sqlfs: what the file system (fs_ops.c) asks of
 * a database, in units of rows, inside transactions.
 *
 * fs_ops.c holds the POSIX semantics (link counts, rename rules, chunk
 * arithmetic, the orphan list); a backend only stores and finds rows. A
 * backend is a table of functions (struct sqlfs_backend_ops) and an
 * object that begins with struct sqlfs_backend: sqlite.c and pg.c.
 *
 * Every call but open/close/begin runs inside a transaction, named by the
 * struct sqlfs_txn that begin() returned. Exactly one of commit() and
 * rollback() ends it. A backend may serialize transactions (SQLite does,
 * on its one connection) or run them side by side (a pool of
 * connections); fs_ops.c relies only on each one being atomic and
 * isolated (serializable).
 *
 * All functions return 0 or a negative errno value: -ENOENT for a row
 * that is not there, -EEXIST for a key already taken, -EIO for a
 * database error (the backend logs the database's own message), -EBUSY
 * when the database is locked by someone else.
 */
#ifndef SQLFS_BACKEND_H
#define SQLFS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** The inode number of the root directory. */
#define SQLFS_ROOT_INO 1

/** The version of the schema this sqlfs writes and reads. */
#define SQLFS_SCHEMA_VERSION 1

/** Bytes per data chunk: a file's byte N is in chunk N / SQLFS_CHUNK_SIZE. */
#define SQLFS_CHUNK_SIZE 65536u

/** Longest symbolic link target. */
#define SQLFS_LINK_MAX 4095

/** One row of the inode table. */
struct sqlfs_inode {
    uint64_t ino;   /**< key; assigned by inode_insert() */
    uint32_t mode;  /**< type and permission bits */
    uint32_t uid;   /**< owner */
    uint32_t gid;   /**< group */
    uint32_t nlink; /**< names (directories: 2 + subdirectories) */
    uint32_t rdev;  /**< device number of a device node */
    uint64_t size;  /**< bytes (regular files), target length (links),
                         entries (directories) */
    struct timespec atime; /**< last access */
    struct timespec mtime; /**< last data change */
    struct timespec ctime; /**< last status change */
    struct timespec btime; /**< creation */
};

/** Totals for statfs. */
struct sqlfs_usage {
    uint64_t inodes;      /**< rows of the inode table */
    uint64_t used_bytes;  /**< bytes the database file takes */
    uint64_t free_bytes;  /**< bytes it can still grow by, reused pages
                               included */
    uint64_t total_bytes; /**< the volume's size: the host file system's
                               for SQLite (so that it does not move when
                               other files there grow), a nominal size
                               for PostgreSQL; at least used + free */
};

/**
 * Where a backend shared by several mounts (PostgreSQL) reports what
 * another mount changed, from a thread of its own.
 * @param context  sqlfs_open_options::changed_context
 * @param path     the changed file or name, from the root ("/a/b")
 * @param what     FSP_NOTIFY_* bits (fsp.h)
 */
typedef void sqlfs_change_fn(void *context, const char *path, unsigned what);

/**
 * Where a backend publishes its state (PostgreSQL: the server, connected
 * or not, connections in use, queries pending, the last error), as lines
 * of "name value", from a thread of its own, now and then.
 * @param context  sqlfs_open_options::changed_context
 */
typedef void sqlfs_state_fn(void *context, const char *lines);

/** The mode a backend is opened in. */
struct sqlfs_open_options {
    const char *database;  /**< file path or connection string */
    bool full_sync;        /**< make every commit durable at once */
    bool create;           /**< create the schema in an empty database */
    bool read_only;        /**< open for reading only (--check) */
    bool exclusive;        /**< refuse if another process uses it */
    unsigned read_delay_ms; /**< debugging: the server takes this long
                                 over every read_async() (PostgreSQL:
                                 pg_sleep), to show that reads overlap */
    bool case_insensitive; /**< entry_find, entry_retarget and
                                entry_delete match names in any case
                                (fsp_name_compare()); names keep the case
                                they were created with */
    unsigned timeout_ms;   /**< a server that went away: how long a
                                request waits for it before -EIO (0: the
                                backend's default) */
    sqlfs_change_fn *changed; /**< the other mounts' changes, or NULL */
    sqlfs_state_fn *published; /**< the backend's state lines, or NULL */
    void *changed_context;    /**< passed to changed */
};

struct sqlfs_txn;
struct sqlfs_backend;

/**
 * The end of a read_async(): called once, from the backend's own thread.
 * @param context  read_async()'s context
 * @param error    0 or -errno
 * @param bytes    bytes put in the buffer (less than asked at the end of
 *                 the file)
 */
typedef void sqlfs_read_done_fn(void *context, int error, size_t bytes);

/**
 * A visitor of directory entries or attribute names.
 * @return true to go on, false to stop the listing there.
 */
typedef bool sqlfs_entry_fn(void *context, const char *name,
                            const struct sqlfs_inode *inode);

/** A visitor of extended attribute names. @return true to go on. */
typedef bool sqlfs_name_fn(void *context, const char *name);

/**
 * A visitor of the rows of a query(): @p values are the columns as text
 * (NULL for SQL NULL). @return true to go on.
 */
typedef bool sqlfs_row_fn(void *context, int columns,
                          const char *const *values);

/**
 * A lock, as a backend that serves locks across mounts (lock_set())
 * stores it: POSIX byte-range locks (fcntl(2)) and flock(2) locks, which
 * never conflict with each other.
 */
struct sqlfs_lock {
    uint64_t owner; /**< the kernel's lock owner, as this mount numbers
                         it (a process, or an open file) */
    uint64_t start; /**< its first byte */
    uint64_t end;   /**< its last byte (INT64_MAX: to the end, however
                         long the file grows) */
    uint32_t type;  /**< F_RDLCK, F_WRLCK, or F_UNLCK (a removal) */
    uint32_t pid;   /**< the process that set it (as its mount's pid
                         namespace sees it) */
    bool flock;     /**< a flock(2) lock (the whole file), not a POSIX one */
};

/** Flags of lock_set(). */
enum sqlfs_lock_flags {
    SQLFS_LOCK_WAIT = 1 << 0,  /**< wait for a conflicting lock to go */
    SQLFS_LOCK_CLOSE = 1 << 1, /**< the owner let go of the file: end its
                                    waits of this kind too (-EINTR) */
};

/** What lock_set() returns when the lock waits: done() answers later. */
#define SQLFS_LOCK_QUEUED 1

/**
 * The end of a lock_set() that waited: called once, from the backend's
 * own thread (or from the lock_set() with SQLFS_LOCK_CLOSE that ends it).
 * @param context  lock_set()'s context
 * @param tag      lock_set()'s tag
 * @param error    0 (the lock is set, if this returns true), or -errno
 * @return true if the caller still waited for the lock; false, and the
 *         backend does not keep a lock it was granting
 */
typedef bool sqlfs_lock_done_fn(void *context, uint64_t tag, int error);

/** The functions of a backend. */
struct sqlfs_backend_ops {
    /**
     * Open the database: check (or, with create, write) the schema.
     * @param options  what to open and how
     * @param message  out: on failure, a sentence naming the cause and the
     *                 fix (static or in @p message_buf)
     * @param message_buf, message_size  room for a composed message
     * @param out      out: the backend
     * @return 0 or -errno
     */
    int (*open)(const struct sqlfs_open_options *options, char *message_buf,
                size_t message_size, struct sqlfs_backend **out);
    /** Close the database; the backend is freed. */
    void (*close)(struct sqlfs_backend *b);

    /**
     * Begin a transaction.
     * @param write  true if it may change anything (SQLite: BEGIN
     *               IMMEDIATE, so that it never fails half-way for a lock)
     * @param out    out: the transaction
     * @return 0 or -errno
     */
    int (*begin)(struct sqlfs_backend *b, bool write, struct sqlfs_txn **out);
    /** Commit; on failure the transaction is rolled back. @return 0 or
     *  -errno */
    int (*commit)(struct sqlfs_txn *t);
    /** Roll back everything the transaction did. */
    void (*rollback)(struct sqlfs_txn *t);
    /**
     * Make every committed transaction durable (fsync): returns once it
     * is on stable storage.
     * @return 0 or -errno
     */
    int (*sync)(struct sqlfs_backend *b);

    /** Read the inode @p ino into *out. @return 0, -ENOENT */
    int (*inode_get)(struct sqlfs_txn *t, uint64_t ino, struct sqlfs_inode *out);
    /** Write every field of @p in to its row. @return 0, -ENOENT */
    int (*inode_update)(struct sqlfs_txn *t, const struct sqlfs_inode *in);
    /**
     * Insert a new inode; in->ino is set to its new number, which no
     * inode in the table has (an orphan keeps its number until it goes).
     * @param target  a symbolic link's target, or NULL
     */
    int (*inode_insert)(struct sqlfs_txn *t, struct sqlfs_inode *in,
                        const char *target);
    /** Delete the inode, its chunks, its attributes and its orphan row. */
    int (*inode_delete)(struct sqlfs_txn *t, uint64_t ino);
    /** A symbolic link's target, NUL-terminated. @return 0, -ENOENT,
     *  -ENAMETOOLONG if it does not fit in @p size */
    int (*link_target)(struct sqlfs_txn *t, uint64_t ino, char *buf,
                       size_t size);

    /** The inode named @p name in directory @p parent. @return 0, -ENOENT */
    int (*entry_find)(struct sqlfs_txn *t, uint64_t parent, const char *name,
                      uint64_t *ino);
    /** Add the entry. @return 0, -EEXIST */
    int (*entry_insert)(struct sqlfs_txn *t, uint64_t parent,
                        const char *name, uint64_t ino);
    /** Make the existing entry name another inode. @return 0, -ENOENT */
    int (*entry_retarget)(struct sqlfs_txn *t, uint64_t parent,
                          const char *name, uint64_t ino);
    /** Remove the entry. @return 0, -ENOENT */
    int (*entry_delete)(struct sqlfs_txn *t, uint64_t parent,
                        const char *name);
    /** The directory an entry naming @p ino lives in (any one of them).
     *  @return 0, -ENOENT if no entry names it */
    int (*entry_parent)(struct sqlfs_txn *t, uint64_t ino, uint64_t *parent);
    /**
     * Visit a directory's entries in byte order of their names, each with
     * its inode, starting after @p after (NULL: from the first).
     */
    int (*entry_list)(struct sqlfs_txn *t, uint64_t parent, const char *after,
                      sqlfs_entry_fn *fn, void *context);

    /**
     * Read chunk @p index of @p ino into buf (SQLFS_CHUNK_SIZE bytes).
     * @param length out: the bytes stored (0 if the chunk is missing: a
     *               hole); the rest of the chunk reads as zeros
     */
    int (*chunk_read)(struct sqlfs_txn *t, uint64_t ino, uint64_t index,
                      void *buf, size_t *length);
    /** Store chunk @p index (replacing it); length at most
     *  SQLFS_CHUNK_SIZE. */
    int (*chunk_write)(struct sqlfs_txn *t, uint64_t ino, uint64_t index,
                       const void *buf, size_t length);
    /** Delete the chunks first..last (inclusive) of @p ino. */
    int (*chunk_delete)(struct sqlfs_txn *t, uint64_t ino, uint64_t first,
                        uint64_t last);
    /** Bytes stored in the chunks of @p ino (st_blocks). */
    int (*chunk_bytes)(struct sqlfs_txn *t, uint64_t ino, uint64_t *bytes);

    /** An attribute's value: copied if it fits in @p size, its length in
     *  *length either way. @return 0, -ENODATA */
    int (*xattr_get)(struct sqlfs_txn *t, uint64_t ino, const char *name,
                     void *buf, size_t size, size_t *length);
    /** Insert or replace an attribute. */
    int (*xattr_set)(struct sqlfs_txn *t, uint64_t ino, const char *name,
                     const void *value, size_t size);
    /** Remove an attribute. @return 0, -ENODATA */
    int (*xattr_remove)(struct sqlfs_txn *t, uint64_t ino, const char *name);
    /** Visit the attribute names of @p ino. */
    int (*xattr_list)(struct sqlfs_txn *t, uint64_t ino, sqlfs_name_fn *fn,
                      void *context);

    /** Put @p ino on the orphan list (unlinked while open). */
    int (*orphan_add)(struct sqlfs_txn *t, uint64_t ino);
    /**
     * The first orphan after @p after (0: the first of all).
     * @return 0, -ENOENT when there is none
     */
    int (*orphan_next)(struct sqlfs_txn *t, uint64_t after, uint64_t *ino);

    /** Figures for statfs. */
    int (*usage)(struct sqlfs_txn *t, struct sqlfs_usage *out);

    /**
     * Run one SQL query of the subset SQLite and PostgreSQL share (the
     * invariants of check.c) and visit its rows.
     */
    int (*query)(struct sqlfs_txn *t, const char *sql, sqlfs_row_fn *fn,
                 void *context);

    /**
     * Read bytes [offset, offset + length) of regular file @p ino into
     * @p buf later, in one transaction of its own, without blocking the
     * caller; @p done is called when the bytes are there. NULL: the
     * backend has no asynchronous reads (SQLite).
     * @return 0 (queued: done will be called), or -errno (not queued,
     *         done will not be called)
     */
    int (*read_async)(struct sqlfs_backend *b, uint64_t ino, uint64_t offset,
                      size_t length, void *buf, sqlfs_read_done_fn *done,
                      void *context);
    /**
     * Wait until every read_async() has called its done function, and
     * take no more (those then fail with -ESHUTDOWN). NULL: nothing to
     * wait for.
     */
    void (*quiesce)(struct sqlfs_backend *b);

    /**
     * Find a lock of another owner (of any mount) that conflicts with
     * @p want on inode @p ino. NULL (SQLite): the backend serves no locks,
     * and the kernel keeps them, local to the one mount.
     * @param conflict  out: one conflicting lock; its type F_UNLCK if none
     * @return 0 or -errno
     */
    int (*lock_test)(struct sqlfs_backend *b, uint64_t ino,
                     const struct sqlfs_lock *want,
                     struct sqlfs_lock *conflict);
    /**
     * Set, change or remove (type F_UNLCK) a lock of @p want's owner on
     * inode @p ino, exclusive against the locks of every mount of the
     * database; a mount's locks go with it when it dies.
     * @param flags    SQLFS_LOCK_WAIT, SQLFS_LOCK_CLOSE
     * @param done     with SQLFS_LOCK_WAIT, called once the lock is set
     *                 (or the wait ends: -EINTR)
     * @return 0; -EAGAIN for a conflict without SQLFS_LOCK_WAIT;
     *         SQLFS_LOCK_QUEUED (done will be called); -ENOLCK, -EIO
     */
    int (*lock_set)(struct sqlfs_backend *b, uint64_t ino,
                    const struct sqlfs_lock *want, unsigned flags,
                    sqlfs_lock_done_fn *done, void *context, uint64_t tag);
};

/** The part of every backend that fs_ops.c sees. */
struct sqlfs_backend {
    const struct sqlfs_backend_ops *ops; /**< its functions */
};

/** The SQLite backend (sqlite.c): DATABASE is a file path. */
extern const struct sqlfs_backend_ops sqlfs_sqlite_ops;

/** The PostgreSQL backend (pg.c): DATABASE is a libpq connection string
 *  or URI. */
extern const struct sqlfs_backend_ops sqlfs_pg_ops;

/**
 * The backend for a DATABASE operand: PostgreSQL for a "postgresql://" or
 * "postgres://" URI or a "keyword=value ..." connection string, SQLite
 * for anything else (a file path).
 * @param message  out: why there is none, when NULL is returned
 * @return the backend's functions, or NULL
 */
const struct sqlfs_backend_ops *sqlfs_backend_for(const char *database,
                                                  const char **message);

#endif
