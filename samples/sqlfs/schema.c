/**
 * @file schema.c
 * The tables of an sqlfs database on SQLite, and the checks that a file
 * is one this program may mount.
 *
 * A database is sqlfs's when its PRAGMA application_id is
 * SQLFS_APPLICATION_ID and its meta table has a schema_version row; it is
 * readable when that version is SQLFS_SCHEMA_VERSION. An empty database
 * (no tables, application id 0) gets the schema and the root directory in
 * one transaction, so that a crash during the first mount leaves either
 * nothing or everything.
 */
#include "schema.h"

#include "backend.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The schema. Names are BLOBs so that they compare byte by byte (the
 * order of read_directory) whatever their encoding. chunks is a rowid
 * table: its rows are large, which WITHOUT ROWID tables do badly. */
static const char schema_sql[] =
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY,"
    "  value TEXT NOT NULL);"
    "CREATE TABLE inodes ("
    "  ino INTEGER PRIMARY KEY,"
    "  mode INTEGER NOT NULL,"
    "  uid INTEGER NOT NULL,"
    "  gid INTEGER NOT NULL,"
    "  nlink INTEGER NOT NULL,"
    "  rdev INTEGER NOT NULL DEFAULT 0,"
    "  size INTEGER NOT NULL DEFAULT 0,"
    "  atime_s INTEGER NOT NULL, atime_ns INTEGER NOT NULL,"
    "  mtime_s INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,"
    "  ctime_s INTEGER NOT NULL, ctime_ns INTEGER NOT NULL,"
    "  btime_s INTEGER NOT NULL, btime_ns INTEGER NOT NULL,"
    "  target BLOB);"
    "CREATE TABLE dirents ("
    "  parent INTEGER NOT NULL,"
    "  name BLOB NOT NULL,"
    "  ino INTEGER NOT NULL,"
    "  PRIMARY KEY (parent, name)) WITHOUT ROWID;"
    "CREATE INDEX dirents_by_ino ON dirents (ino);"
    "CREATE TABLE chunks ("
    "  ino INTEGER NOT NULL,"
    "  idx INTEGER NOT NULL,"
    "  data BLOB NOT NULL,"
    "  UNIQUE (ino, idx));"
    "CREATE TABLE xattrs ("
    "  ino INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value BLOB NOT NULL,"
    "  PRIMARY KEY (ino, name)) WITHOUT ROWID;"
    "CREATE TABLE orphans ("
    "  ino INTEGER PRIMARY KEY);";

/* One integer from a query without parameters; -EIO if it fails, with
 * SQLite's code in *rc. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out, int *rc)
{
    sqlite3_stmt *stmt = NULL;
    int err = -EIO;

    *out = 0;
    *rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (*rc != SQLITE_OK)
        goto out;
    *rc = sqlite3_step(stmt);
    if (*rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(stmt, 0);
        *rc = SQLITE_OK;
        err = 0;
    } else if (*rc == SQLITE_DONE) {
        err = -ENOENT;
    }
out:
    sqlite3_finalize(stmt);
    return err;
}

/* Write the schema, the version rows and the root directory. */
static int create_schema(sqlite3 *db, const char *path, char *message,
                         size_t size)
{
    char sql[1024];
    struct timespec now;
    bool begun = false;
    int rc;

    clock_gettime(CLOCK_REALTIME, &now);
    rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    begun = true;
    rc = sqlite3_exec(db, schema_sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    snprintf(sql, sizeof sql,
             "PRAGMA application_id = %d;"
             "INSERT INTO meta VALUES ('format', 'sqlfs');"
             "INSERT INTO meta VALUES ('schema_version', '%d');"
             "INSERT INTO meta VALUES ('chunk_size', '%u');"
             "INSERT INTO inodes (ino, mode, uid, gid, nlink, size,"
             " atime_s, atime_ns, mtime_s, mtime_ns, ctime_s, ctime_ns,"
             " btime_s, btime_ns) VALUES (%d, %u, %u, %u, 2, 0,"
             " %lld, %ld, %lld, %ld, %lld, %ld, %lld, %ld);",
             SQLFS_APPLICATION_ID, SQLFS_SCHEMA_VERSION, SQLFS_CHUNK_SIZE,
             SQLFS_ROOT_INO, (unsigned)(S_IFDIR | 0755), (unsigned)getuid(),
             (unsigned)getgid(), (long long)now.tv_sec, now.tv_nsec,
             (long long)now.tv_sec, now.tv_nsec, (long long)now.tv_sec,
             now.tv_nsec, (long long)now.tv_sec, now.tv_nsec);
    rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    rc = sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        goto fail;
    return 0;
fail:
    snprintf(message, size, "%s: cannot create the sqlfs schema: %s", path,
             sqlite3_errmsg(db));
    if (begun)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return -EIO;
}

int sqlfs_schema_prepare(sqlite3 *db, const char *path, bool create,
                         char *message, size_t size)
{
    int64_t app_id, tables, version;
    int rc, err;

    message[0] = 0;
    /* The first read of the file: where a file that is no database shows. */
    err = query_int(db, "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                    &tables, &rc);
    if (err < 0) {
        if (rc == SQLITE_NOTADB) {
            snprintf(message, size,
                     "%s is not an SQLite database: give the path of an "
                     "sqlfs database, or of a file that does not exist yet "
                     "(sqlfs creates it)",
                     path);
            return -ENOTSUP;
        }
        snprintf(message, size, "%s: cannot read the database: %s", path,
                 sqlite3_errmsg(db));
        return -EIO;
    }
    err = query_int(db, "PRAGMA application_id", &app_id, &rc);
    if (err < 0) {
        snprintf(message, size, "%s: cannot read the database: %s", path,
                 sqlite3_errmsg(db));
        return -EIO;
    }
    if (tables == 0 && app_id == 0) {
        if (create)
            return create_schema(db, path, message, size);
        snprintf(message, size,
                 "%s is empty: it holds no sqlfs volume yet (mount it once "
                 "to create one)",
                 path);
        return -ENOENT;
    }
    if (app_id != SQLFS_APPLICATION_ID) {
        snprintf(message, size,
                 "%s is an SQLite database of another application "
                 "(application_id 0x%llx, %lld tables), not an sqlfs volume: "
                 "give sqlfs the path of a new file (it creates the "
                 "database) or of an sqlfs database",
                 path, (long long)app_id, (long long)tables);
        return -EPROTO;
    }
    err = query_int(db,
                    "SELECT CAST(value AS INTEGER) FROM meta "
                    "WHERE key = 'schema_version'",
                    &version, &rc);
    if (err < 0) {
        snprintf(message, size,
                 "%s is marked as an sqlfs database but has no schema "
                 "version row (%s): it is damaged; restore it from a copy",
                 path, err == -ENOENT ? "row missing" : sqlite3_errmsg(db));
        return -EPROTO;
    }
    if (version > SQLFS_SCHEMA_VERSION) {
        snprintf(message, size,
                 "%s has sqlfs schema version %lld, newer than the version "
                 "%d this sqlfs reads: mount it with a newer sqlfs",
                 path, (long long)version, SQLFS_SCHEMA_VERSION);
        return -EPROTONOSUPPORT;
    }
    if (version < SQLFS_SCHEMA_VERSION) {
        snprintf(message, size,
                 "%s has sqlfs schema version %lld, which this sqlfs "
                 "(version %d) cannot upgrade: mount it with the sqlfs that "
                 "wrote it",
                 path, (long long)version, SQLFS_SCHEMA_VERSION);
        return -EPROTONOSUPPORT;
    }
    return 0;
}
