/**
 * @file sqlite_internal.h
 * What the files of the SQLite backend share: the backend object, its
 * prepared statements by purpose, and the steps of opening it.
 *
 * - sqlite.c: transactions and the rows (the table of functions);
 * - sqlite_open.c: the file, its lock, the connection's settings;
 * - sqlite_statements.c: the SQL of every statement, prepared once.
 */
#ifndef SQLFS_SQLITE_INTERNAL_H
#define SQLFS_SQLITE_INTERNAL_H

#include "backend.h"

#include <pthread.h>
#include <sqlite3.h>

/* The prepared statements, by purpose. */
enum stmt_id {
    ST_BEGIN_READ,
    ST_BEGIN_WRITE,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_INODE_GET,
    ST_INODE_UPDATE,
    ST_INODE_INSERT,
    ST_INODE_DELETE,
    ST_INODE_DELETE_CHUNKS,
    ST_INODE_DELETE_XATTRS,
    ST_INODE_DELETE_ORPHAN,
    ST_LINK_TARGET,
    ST_ENTRY_FIND,
    ST_ENTRY_INSERT,
    ST_ENTRY_RETARGET,
    ST_ENTRY_DELETE,
    ST_ENTRY_PARENT,
    ST_ENTRY_LIST,
    ST_CHUNK_READ,
    ST_CHUNK_WRITE,
    ST_CHUNK_DELETE,
    ST_CHUNK_BYTES,
    ST_XATTR_GET,
    ST_XATTR_SET,
    ST_XATTR_REMOVE,
    ST_XATTR_LIST,
    ST_ORPHAN_ADD,
    ST_ORPHAN_NEXT,
    ST_INODE_COUNT,
    ST_PAGE_COUNT,
    ST_FREELIST_COUNT,
    ST_PAGE_SIZE,
    ST_COUNT
};

/** The transaction that runs: there is one at a time. */
struct sqlfs_txn {
    struct sqlite_backend *b;
};

/** The SQLite backend: what a struct sqlfs_backend pointer points to. */
struct sqlite_backend {
    struct sqlfs_backend base; /* first: the pointer fs_ops.c holds */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT];
    pthread_mutex_t lock;      /* one transaction at a time */
    struct sqlfs_txn txn;      /* the one that runs */
    char *path;
    char *dir;                 /* the file's directory, for statfs */
    int lock_fd;               /* holds the flock */
    bool full_sync;
    bool read_only;
    bool case_insensitive;
};

/**
 * Prepare every statement of @p b (ST_COUNT of them), in their
 * case-insensitive form on a case-insensitive volume, and the SQL
 * function fsp_name_eq() they use.
 * @param msg, size  where to say what failed
 * @return 0 or -EIO
 */
int sqlite_prepare_statements(struct sqlite_backend *b, char *msg,
                              size_t size);

/** See sqlfs_backend_ops::open. */
int sqlite_backend_open(const struct sqlfs_open_options *o, char *msg,
                        size_t size, struct sqlfs_backend **out);

/** See sqlfs_backend_ops::close. */
void sqlite_backend_close(struct sqlfs_backend *base);

#endif
