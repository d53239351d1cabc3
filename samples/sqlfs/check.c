/**
 * @file check.c
 * sqlfs --check: the invariants of a database, each one SQL query that
 * returns the rows breaking it. The queries use the SQL that SQLite and
 * PostgreSQL share, so that every backend runs the same checks through
 * its query() function.
 *
 * The database is opened with a shared lock: a mounted volume (which
 * holds it exclusively) is refused, so that the check sees a volume at
 * rest. Opening it recovers the WAL a killed daemon left, as the next
 * mount would.
 */
#define _GNU_SOURCE

#include "backend.h"
#include "sqlfs.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* S_IFMT, S_IFDIR and S_IFREG, as SQL sees them. */
#define IS_DIR(t) "(" t ".mode & 61440) = 16384"
#define NOT_DIR(t) "(" t ".mode & 61440) <> 16384"
#define NOT_REG(t) "(" t ".mode & 61440) <> 32768"

/* SQLFS_CHUNK_SIZE in the text of a query. */
#define CHUNK_SIZE_SQL "65536"
_Static_assert(SQLFS_CHUNK_SIZE == 65536, "CHUNK_SIZE_SQL is SQLFS_CHUNK_SIZE");

/* One invariant: the query returns the rows that break it, and each row
 * prints as the format with its columns (as text) in order. */
struct invariant {
    const char *sql;
    const char *format; /* up to three %s */
};

static const struct invariant invariants[] = {
    {"SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM inodes r WHERE r.ino = 1 AND "
     IS_DIR("r") ")",
     "the root directory (inode 1) is missing or not a directory"},
    {"SELECT d.parent, d.name, d.ino FROM dirents d LEFT JOIN inodes i ON "
     "i.ino = d.ino WHERE i.ino IS NULL",
     "entry \"%2$s\" in directory %1$s names inode %3$s, which does not "
     "exist"},
    {"SELECT d.parent, d.name FROM dirents d LEFT JOIN inodes p ON p.ino = "
     "d.parent WHERE p.ino IS NULL OR " NOT_DIR("p"),
     "entry \"%2$s\" is in %1$s, which is not a directory"},
    {"SELECT x.ino, x.nlink, x.names FROM (SELECT i.ino, i.nlink, (SELECT "
     "count(*) FROM dirents d WHERE d.ino = i.ino) AS names FROM inodes i "
     "WHERE " NOT_DIR("i") ") x WHERE x.nlink <> x.names",
     "inode %s has link count %s but %s names"},
    {"SELECT x.ino, x.nlink, x.expected FROM (SELECT i.ino, i.nlink, 2 + "
     "(SELECT count(*) FROM dirents d JOIN inodes c ON c.ino = d.ino WHERE "
     "d.parent = i.ino AND " IS_DIR("c") ") AS expected FROM inodes i WHERE "
     IS_DIR("i") " AND i.ino NOT IN (SELECT ino FROM orphans)) x WHERE "
     "x.nlink <> x.expected",
     "directory %s has link count %s, but 2 + its subdirectories make %s"},
    {"SELECT i.ino, i.nlink FROM inodes i JOIN orphans o ON o.ino = i.ino "
     "WHERE " IS_DIR("i") " AND EXISTS (SELECT 1 FROM dirents d WHERE "
     "d.parent = i.ino)",
     "directory %s is an orphan (link count %s) but still has entries"},
    {"SELECT x.ino, x.size, x.entries FROM (SELECT i.ino, i.size, (SELECT "
     "count(*) FROM dirents d WHERE d.parent = i.ino) AS entries FROM "
     "inodes i WHERE " IS_DIR("i") ") x WHERE x.size <> x.entries",
     "directory %s has size %s but %s entries"},
    {"SELECT x.ino, x.names FROM (SELECT i.ino, (SELECT count(*) FROM "
     "dirents d WHERE d.ino = i.ino) AS names FROM inodes i WHERE "
     IS_DIR("i") " AND i.ino <> 1) x WHERE x.names > 1",
     "directory %s has %s names (a directory has one)"},
    {"SELECT c.ino, count(*) FROM chunks c LEFT JOIN inodes i ON i.ino = "
     "c.ino WHERE i.ino IS NULL GROUP BY c.ino",
     "inode %s does not exist but has %s data chunks"},
    {"SELECT c.ino, c.idx FROM chunks c JOIN inodes i ON i.ino = c.ino "
     "WHERE " NOT_REG("i"),
     "inode %s is not a regular file but has data chunk %s"},
    {"SELECT c.ino, c.idx, i.size FROM chunks c JOIN inodes i ON i.ino = "
     "c.ino WHERE c.idx * " CHUNK_SIZE_SQL " + length(c.data) > i.size",
     "inode %s: data chunk %s goes past the end of the file (size %s)"},
    {"SELECT x.ino, count(*) FROM xattrs x LEFT JOIN inodes i ON i.ino = "
     "x.ino WHERE i.ino IS NULL GROUP BY x.ino",
     "inode %s does not exist but has %s extended attributes"},
    {"SELECT o.ino FROM orphans o LEFT JOIN inodes i ON i.ino = o.ino WHERE "
     "i.ino IS NULL OR i.nlink <> 0",
     "inode %s is on the orphan list but is missing or still has names"},
    {"WITH RECURSIVE reach(ino) AS (SELECT CAST(1 AS BIGINT) UNION SELECT "
     "d.ino FROM "
     "dirents d JOIN reach r ON d.parent = r.ino) SELECT i.ino FROM inodes "
     "i WHERE i.ino NOT IN (SELECT ino FROM reach) AND i.ino NOT IN (SELECT "
     "ino FROM orphans)",
     "inode %s cannot be reached from the root and is not an orphan"},
};

/* What the summary counts. */
static const char *const totals_sql =
    "SELECT (SELECT count(*) FROM inodes), (SELECT count(*) FROM inodes i "
    "WHERE " IS_DIR("i") "), (SELECT count(*) FROM dirents), (SELECT "
    "count(*) FROM chunks), (SELECT coalesce(sum(length(data)), 0) FROM "
    "chunks), (SELECT count(*) FROM xattrs), (SELECT count(*) FROM orphans)";

struct check_run {
    const char *database;
    const struct invariant *invariant;
    unsigned problems;
    char summary[512];
};

static const char *text(int columns, const char *const *values, int i)
{
    return i < columns && values[i] ? values[i] : "NULL";
}

static bool report_row(void *context, int columns, const char *const *values)
{
    struct check_run *run = context;

    printf("sqlfs --check: %s: ", run->database);
    printf(run->invariant->format, text(columns, values, 0),
           text(columns, values, 1), text(columns, values, 2));
    printf("\n");
    /* A broken database can break an invariant a million times: the
     * first hundred say enough. */
    return ++run->problems < 100;
}

static bool note_totals(void *context, int columns, const char *const *values)
{
    struct check_run *run = context;

    snprintf(run->summary, sizeof run->summary,
             "%s inodes (%s directories), %s entries, %s chunks of %s bytes, "
             "%s extended attributes, %s orphans",
             text(columns, values, 0), text(columns, values, 1),
             text(columns, values, 2), text(columns, values, 3),
             text(columns, values, 4), text(columns, values, 5),
             text(columns, values, 6));
    return false;
}

/* Run every invariant and the totals in one read transaction. */
static int run_checks(struct sqlfs_backend *b, struct check_run *run)
{
    const struct sqlfs_backend_ops *db = b->ops;
    struct sqlfs_txn *t;
    size_t i;
    int err;

    err = db->begin(b, false, &t);
    if (err < 0)
        return err;
    for (i = 0; i < sizeof invariants / sizeof invariants[0] && err == 0;
         i++) {
        run->invariant = &invariants[i];
        err = db->query(t, invariants[i].sql, report_row, run);
    }
    if (err == 0)
        err = db->query(t, totals_sql, note_totals, run);
    db->rollback(t); /* read only: nothing to commit */
    return err;
}

int sqlfs_check(const char *database)
{
    struct sqlfs_open_options oo = {.database = database};
    struct check_run run = {.database = database};
    const struct sqlfs_backend_ops *ops;
    struct sqlfs_backend *b = NULL;
    char message[1024];
    const char *why;
    int err;

    ops = sqlfs_backend_for(database, &why);
    if (!ops) {
        fprintf(stderr, "sqlfs --check: %s\n", why);
        return 2;
    }
    /* Read-write when allowed, so that the WAL of a killed daemon is
     * recovered; nothing is written otherwise. */
    oo.read_only = access(database, W_OK) != 0 && errno != ENOENT;
    err = ops->open(&oo, message, sizeof message, &b);
    if (err < 0) {
        fprintf(stderr, "sqlfs --check: %s\n", message[0] ? message
                                                          : strerror(-err));
        return 2;
    }
    err = run_checks(b, &run);
    ops->close(b);
    if (err < 0) {
        fprintf(stderr, "sqlfs --check: %s: the check failed: %s\n", database,
                strerror(-err));
        return 2;
    }
    if (run.problems > 0) {
        printf("sqlfs --check: %s: %u problem%s%s\n", database, run.problems,
               run.problems == 1 ? "" : "s",
               run.problems >= 100 ? " (stopped at 100)" : "");
        return 1;
    }
    printf("sqlfs --check: %s: ok: %s\n", database, run.summary);
    return 0;
}
