/**
 * @file sqlfs.h
 * sqlfs: a persistent POSIX file system whose inodes, names, data and
 * extended attributes are rows of an SQL database (backend.h), served
 * through fsp. See docs/SQLFS.md.
 */
#ifndef SQLFS_H
#define SQLFS_H

#include <fsp/fsp.h>

#include <stdbool.h>
#include <stddef.h>

/** What the command line decides about the file system. */
struct sqlfs_options {
    const char *database; /**< the DATABASE operand */
    bool full_sync;       /**< -o sync=full: every commit is synced */
    bool case_insensitive; /**< -o case_insensitive: names match in any
                                case, and keep the one they were made in */
    unsigned read_delay_ms; /**< -o debug_read_delay=MS: the server sleeps
                                 that long in every read (PostgreSQL), to
                                 show reads overlapping */
    unsigned timeout_ms;  /**< -o server_timeout=MS: how long a request
                               waits for a database server that went away
                               before it fails with EIO (0: 10 s) */
};

/**
 * Whether the file system serves fcntl(2) and flock(2) locks itself, for
 * a volume on @p database: true on PostgreSQL, whose mounts share the
 * volume (its locks are exclusive across them); false on SQLite, whose
 * one mount leaves locks to the kernel. A volume that serves locks needs
 * a file context per open (not per_file_context): their locks end with
 * their RELEASE.
 * @param database  the DATABASE operand
 */
bool sqlfs_serves_locks(const char *database);

/** The file system: the open database and the open files. */
struct sqlfs;

/**
 * Open the database (creating it and its schema if it is a new file),
 * free what the orphan list holds (files unlinked while open when the
 * last mount ended without closing them) and fill in the callbacks.
 * @param options   the database and how to use it
 * @param interface out: the callbacks, for fsp_fs_create()
 * @param message   out: on failure, a sentence naming the cause and the fix
 * @param size      size of @p message
 * @param out       out: the file system
 * @return 0 or -errno
 */
int sqlfs_create(const struct sqlfs_options *options,
                 fsp_fs_interface_t *interface, char *message, size_t size,
                 struct sqlfs **out);

/**
 * Give the file system its volume, to which it passes what other mounts
 * of a shared database change (fsp_fs_notify()); NULL takes it back,
 * waiting for a notification under way. Call it with NULL before
 * fsp_fs_delete().
 * @param s   the file system
 * @param fs  its volume, or NULL
 */
void sqlfs_attach(struct sqlfs *s, fsp_fs_t *fs);

/** Close the database and free the file system (NULL is allowed). Call it
 * after fsp_fs_delete(), which closes the files still open. */
void sqlfs_delete(struct sqlfs *s);

/**
 * sqlfs --check: verify the invariants of the database at @p database
 * (link counts, entries and chunks without their inode, inodes without
 * a name that are not orphans, directory sizes) and print to stdout one
 * line per problem, or one summary line if there is none.
 * @return 0 if the database is sound, 1 if it has problems, 2 if it
 *         cannot be checked (the message says why, on stderr)
 */
int sqlfs_check(const char *database);

#endif
