/**
 * @file schema.h
 * The SQLite schema of sqlfs: written into a new database, checked in an
 * existing one (see docs/SQLFS.md for the tables).
 */
#ifndef SQLFS_SCHEMA_H
#define SQLFS_SCHEMA_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>

/** PRAGMA application_id of an sqlfs database: "SQLF". */
#define SQLFS_APPLICATION_ID 0x53514c46

/**
 * Make sure @p db holds an sqlfs schema this program reads: create it in
 * an empty database (if @p create), else check the application id and the
 * schema version row.
 * @param db        the open database
 * @param path      its name, for messages
 * @param create    write the schema into an empty database
 * @param message   out: on failure, a sentence naming the cause and the fix
 * @param size      size of @p message
 * @return 0; -EPROTO for a foreign or damaged database, -EPROTONOSUPPORT
 *         for a newer schema, -ENOENT for an empty database without
 *         create, -ENOTSUP for a file that is not an SQLite database,
 *         -EIO for other errors
 */
int sqlfs_schema_prepare(sqlite3 *db, const char *path, bool create,
                         char *message, size_t size);

#endif
