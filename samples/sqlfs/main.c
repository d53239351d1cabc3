/**
 * @file main.c
 * The sqlfs program: command line, mount, run until unmounted; or
 * `sqlfs --check DATABASE`.
 *
 *   sqlfs [-f] [-d] [-o opt[,opt...]]... DATABASE MOUNTPOINT
 *   sqlfs --check DATABASE
 *
 * The run is the one every sample follows (../common/sample_cli.h):
 * daemonize, open the database, create the volume, mount, start, report
 * readiness, wait, delete. The database is opened after daemonizing, so
 * that its lock belongs to the process that serves the volume; its
 * errors still reach the terminal, which the parent holds until
 * fsp_daemon_ready().
 */
#define _GNU_SOURCE

#include "sample_cli.h"
#include "sqlfs.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
    "usage: sqlfs [-f] [-d] [-o opt[,opt...]]... DATABASE MOUNTPOINT\n"
    "       sqlfs --check DATABASE\n"
    "\n"
    "A persistent file system in an SQL database. DATABASE is an SQLite\n"
    "file (created, with its schema, on the first mount; one mount at a\n"
    "time), or a PostgreSQL connection string or URI (postgresql://...,\n"
    "\"host=... dbname=...\"): the database must exist, sqlfs creates its\n"
    "tables, and any number of mounts may share it.\n"
    "--check verifies the database and names what is wrong (exit 1), or\n"
    "prints a summary (exit 0).\n"
    "\n"
    "  -f             stay in the foreground\n"
    "  -d             log every request and reply to stderr (implies -f)\n"
    "  -h, --help     show this help\n"
    "  -o OPTIONS     comma-separated, from:\n"
    "\n"
    "  sync=normal    a commit survives the death of sqlfs at once, and of\n"
    "                 the machine after fsync(2) or syncfs(2) (the default)\n"
    "  sync=full      every commit is on stable storage before the reply\n"
    "  case_insensitive  find names by any case, list them as created\n"
    "  server_timeout=MS  PostgreSQL: how long a request waits for a server\n"
    "                 that went away before it fails with EIO (default\n"
    "                 10000)\n"
    "  debug_read_delay=MS  PostgreSQL, for tests: the server sleeps MS in\n"
    "                 every read of file data (reads still overlap)\n"
    "  open_handles   an fsp handle per open(2) (default on SQLite: one\n"
    "                 context per file, and the kernel sends no OPEN nor\n"
    "                 RELEASE; always on PostgreSQL, whose fcntl(2) and\n"
    "                 flock(2) locks hold across mounts)\n"
    "  file_info_timeout=MS, dir_info_timeout=MS, negative_timeout=MS\n"
    "                 how long the kernel caches attributes and names\n"
    "                 (milliseconds, -1 for ever; default 1000)\n"
    "  threads=N, fsname=NAME, subtype=NAME, allow_other,\n"
    "  [no_]default_permissions, [no_]auto_unmount, nonempty, ro, rw,\n"
    "  writeback_cache, keep_cache, request_timeout=S, [no]suid, [no]dev\n"
    "                 as for every fsp sample (see memfs -h)\n"
    "  relatime, strictatime, noatime, nodiratime\n"
    "                 the mount's access time flag (default relatime);\n"
    "                 sqlfs itself never updates an access time on reads\n"
    "  noacl          no POSIX ACLs (default: fsp keeps them, stored as\n"
    "                 xattrs in the database, in step with the modes)\n"
    "\n"
    "SIGUSR1 switches the debug log on and off while sqlfs runs.\n";

/** Everything the command line decides. */
struct command_line {
    struct sample_cli cli; /* -f, -d, the volume options, the operands */
    struct sqlfs_options sqlfs;
};

/* sqlfs's own -o options, called by sample_cli_parse() for the names it
 * does not know. */
static int set_sqlfs_option(void *context, const char *name, char *value)
{
    struct command_line *cl = context;

    if (strcmp(name, "open_handles") == 0) {
        if (value)
            return -ENOENT;
        cl->cli.volume.per_file_context = false;
        return 0;
    }
    if (strcmp(name, "case_insensitive") == 0) {
        if (value)
            return -ENOENT;
        cl->sqlfs.case_insensitive = true;
        cl->cli.volume.case_insensitive = true;
        return 0;
    }
    if (strcmp(name, "server_timeout") == 0 ||
        strcmp(name, "debug_read_delay") == 0) {
        char *end;
        unsigned long ms = value ? strtoul(value, &end, 10) : 0;
        if (!value || *end || ms == 0 || ms > 3600000)
            return -EINVAL;
        if (name[0] == 's')
            cl->sqlfs.timeout_ms = (unsigned)ms;
        else
            cl->sqlfs.read_delay_ms = (unsigned)ms;
        return 0;
    }
    if (strcmp(name, "sync") == 0) {
        if (value && strcmp(value, "full") == 0)
            cl->sqlfs.full_sync = true;
        else if (value && strcmp(value, "normal") == 0)
            cl->sqlfs.full_sync = false;
        else
            return -EINVAL;
        return 0;
    }
    return -ENOENT;
}

/* Fills *cl. Returns -1 to exit with failure, 0 to run, 1 to exit
 * successfully (after --help). */
static int parse_command_line(int argc, char **argv, struct command_line *cl)
{
    static const char *const operand_names[] = {"database", "mount point"};
    int parsed;

    memset(cl, 0, sizeof *cl);
    sample_cli_init(&cl->cli, "sqlfs", usage_text, operand_names, 2);
    cl->cli.option = set_sqlfs_option;
    cl->cli.option_context = cl;
    /* Every change goes through this mount (SQLite: one mount per
     * database), or another mount's is announced (PostgreSQL: NOTIFY,
     * then fsp_fs_notify()): the kernel may remember that a name is
     * absent. */
    cl->cli.volume.negative_timeout_ms = 1000;
    /* The file context is the inode, shared by its opens. */
    cl->cli.volume.per_file_context = true;
    /* ACLs in the xattr table, kept in step with the modes by fsp. */
    cl->cli.volume.posix_acl = FSP_POSIX_ACL_FSP;
    parsed = sample_cli_parse(&cl->cli, argc, argv);
    if (parsed != 0)
        return parsed < 0 ? -1 : 1;
    cl->sqlfs.database = cl->cli.operands[0];
    /* Locks shared by the mounts of a PostgreSQL volume end with the
     * opens that took them: a context per open (open_handles). */
    if (sqlfs_serves_locks(cl->sqlfs.database))
        cl->cli.volume.per_file_context = false;
    return 0;
}

/* Open, create, mount, serve until unmounted or signalled, clean up.
 * Returns the exit status. */
static int run(const struct command_line *cl)
{
    const struct sample_cli *cli = &cl->cli;
    fsp_fs_interface_t interface;
    struct sqlfs *sqlfs = NULL;
    fsp_fs_t *fs = NULL;
    char message[1024];
    bool ready = false;
    int err;

    err = sqlfs_create(&cl->sqlfs, &interface, message, sizeof message,
                       &sqlfs);
    if (err < 0) {
        if (message[0])
            sample_cli_message(cli, "%s", message);
        else
            sample_cli_report(cli, NULL, "cannot open the database", err);
        goto out;
    }
    err = sample_cli_create_volume(cli, &interface, sqlfs, &fs);
    if (err < 0)
        goto out;
    sqlfs_attach(sqlfs, fs);
    err = sample_cli_serve(cli, fs, &ready);
out:
    if (sqlfs)
        sqlfs_attach(sqlfs, NULL);
    sample_cli_delete_volume(cli, fs, ready); /* closes what is open */
    sqlfs_delete(sqlfs);                      /* then the database */
    return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct command_line cl;
    int parsed;

    if (argc >= 2 && strcmp(argv[1], "--check") == 0) {
        if (argc != 3) {
            fprintf(stderr, "usage: sqlfs --check DATABASE\n");
            return 2;
        }
        return sqlfs_check(argv[2]);
    }
    parsed = parse_command_line(argc, argv, &cl);
    if (parsed != 0)
        return parsed < 0 ? 1 : 0;
    if (sample_cli_daemonize(&cl.cli) < 0)
        return 1;
    return run(&cl);
}
