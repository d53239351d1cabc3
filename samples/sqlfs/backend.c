/**
 * @file backend.c
 * Which backend serves a DATABASE operand (backend.h).
 */
#include "backend.h"

#include <string.h>

const struct sqlfs_backend_ops *sqlfs_backend_for(const char *database,
                                                  const char **message)
{
    *message = NULL;
    if (strncmp(database, "postgresql://", 13) == 0 ||
        strncmp(database, "postgres://", 11) == 0 ||
        strstr(database, "dbname=")) {
        *message = "the PostgreSQL backend is not written yet: give the "
                   "path of an SQLite database file";
        return NULL;
    }
    return &sqlfs_sqlite_ops;
}
