/**
 * @file backend.c
 * Which backend serves a DATABASE operand (backend.h).
 */
#include "backend.h"

#include <ctype.h>
#include <string.h>

/* A libpq "keyword=value ..." string starts with a keyword (letters and
 * underscores) and '=': "host=db dbname=fs". A path rarely does, and a
 * path meant for SQLite can always be written "./host=x". */
static bool is_conninfo(const char *s)
{
    const char *p = s;

    while (isalpha((unsigned char)*p) || *p == '_')
        p++;
    return p > s && *p == '=';
}

const struct sqlfs_backend_ops *sqlfs_backend_for(const char *database,
                                                  const char **message)
{
    *message = NULL;
    if (strncmp(database, "postgresql://", 13) == 0 ||
        strncmp(database, "postgres://", 11) == 0 || is_conninfo(database))
        return &sqlfs_pg_ops;
    return &sqlfs_sqlite_ops;
}
