/**
 * @file memfs_main.c
 * The memfs program: command line, mount, run until unmounted.
 *
 *   memfs [-f] [-d] [-o opt[,opt...]]... MOUNTPOINT
 *
 * The order of the calls is the one every fsp file system follows:
 * daemonize (before any thread exists), create the volume, mount, start
 * the workers, report readiness, wait, delete. What the samples share of
 * it, and the options every volume takes (timeouts, threads, allow_other,
 * ro, ...), is in ../common/sample_cli.h; this file adds memfs's own.
 */
#define _GNU_SOURCE

#include "memfs.h"
#include "sample_cli.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static const char usage_text[] =
    "usage: memfs [-f] [-d] [-o opt[,opt...]]... MOUNTPOINT\n"
    "\n"
    "An in-memory file system: everything in it is lost at unmount.\n"
    "\n"
    "  -f             stay in the foreground\n"
    "  -d             log every request and reply to stderr (implies -f)\n"
    "  -h, --help     show this help\n"
    "  -o OPTIONS     comma-separated, from:\n"
    "\n"
    "  size=BYTES            data the volume holds (default: half the RAM)\n"
    "  max_file_size=BYTES   largest file (default and at most the kernel's\n"
    "                        limit, 2^63 - 1)\n"
    "  max_nodes=N           most files, directories included (default "
    "1048576)\n"
    "    BYTES take a suffix k, m, g or t (powers of 1024)\n"
    "  uid=N, gid=N, mode=OCTAL\n"
    "                        owner and mode of the root directory (default:\n"
    "                        the mounting user, or root with allow_other;\n"
    "                        0755)\n"
    "  file_info_timeout=MS  how long the kernel caches a file's attributes\n"
    "  dir_info_timeout=MS   the same for directories\n"
    "  negative_timeout=MS   how long it remembers that a name is absent\n"
    "    MS: milliseconds, 0 never caches, -1 caches forever (default "
    "1000)\n"
    "  request_timeout=S     the kernel aborts the connection when a request\n"
    "                        waits over S seconds for its answer (checked\n"
    "                        every 15 s; default 0: no limit)\n"
    "  threads=N             worker threads (default 0: one per CPU, at "
    "least 2)\n"
    "  fsname=NAME           source shown in /proc/mounts (default memfs)\n"
    "  subtype=NAME          type shown as fuse.NAME (default memfs); empty\n"
    "                        (subtype=): the plain type fuse\n"
    "  allow_other           let other users in (needs root or\n"
    "                        user_allow_other in /etc/fuse.conf)\n"
    "  default_permissions   the kernel checks permissions (the default)\n"
    "  no_default_permissions\n"
    "  auto_unmount          unmount if memfs dies (the default)\n"
    "  no_auto_unmount\n"
    "  nonempty              mount over a non-empty directory\n"
    "  ro, rw                read-only or read-write (default rw)\n"
    "  writeback_cache       let the kernel cache writes\n"
    "  keep_cache            keep cached data across opens\n"
    "  suid, dev             set-user-ID bits and device nodes work (root\n"
    "                        only; default nosuid, nodev: device nodes do\n"
    "                        not open)\n"
    "  nosuid, nodev\n"
    "  relatime              a read updates the access time if it is not\n"
    "                        later than the last change, or a day old (the\n"
    "                        default)\n"
    "  strictatime           every read updates it\n"
    "  noatime               no read does\n"
    "  nodiratime            listing a directory does not\n"
    "  noacl                 no POSIX ACLs (default: fsp keeps them, stored\n"
    "                        as xattrs, in step with the modes)\n"
    "  io_uring              serve requests through FUSE over io_uring (needs\n"
    "                        /sys/module/fuse/parameters/enable_uring = Y;\n"
    "                        otherwise logs why and uses /dev/fuse)\n"
    "  case_insensitive      find names by any case, list them as created\n"
    "  open_handles          an fsp handle per open(2): OPEN and RELEASE\n"
    "                        requests (default: one context per file, and\n"
    "                        the kernel sends neither)\n"
    "  kernel_locks          leave fcntl(2) and flock(2) locks to the kernel\n"
    "                        (default: memfs's own lock table serves them;\n"
    "                        flock locks need open_handles)\n"
    "  slowio_percent=P      complete P% of reads, writes and directory\n"
    "                        reads later, from another thread (FSP_PENDING)\n"
    "  slowio_max_delay=MS   ... after a random delay of at most MS (default\n"
    "                        10; slowio_percent defaults to 100 once a\n"
    "                        delay is given)\n"
    "  slowio_min_delay=MS   ... and at least MS (default 0)\n"
    "  slowio_all            ... and not only those: every callback that\n"
    "                        may complete later does (lookups, creates,\n"
    "                        attributes, renames, xattrs, statfs...);\n"
    "                        alone, it means slowio_percent=100\n"
    "    slowio_max_delay=0: the callback does the operation itself and\n"
    "    sends the response before it returns FSP_PENDING (the early\n"
    "    response, which fsp must handle too)\n"
    "\n"
    "SIGUSR1 switches the debug log on and off while memfs runs.\n";

/** Everything the command line decides. */
struct command_line {
    struct sample_cli cli; /* -f, -d, the volume options, MOUNTPOINT */
    struct memfs_options memfs;
    bool root_owner_given; /* uid= or gid= seen */
    bool slowio_percent_given;
    bool slowio_delay_given;
};

/* ---- memfs's own -o options ---- */

/* Called by sample_cli_parse() for each option it does not know. value is
 * NULL for an option without '='. Returns 0, -ENOENT for an unknown name,
 * -EINVAL for a bad or missing value. */
static int set_memfs_option(void *context, const char *name, char *value)
{
    struct command_line *cl = context;
    struct memfs_options *mo = &cl->memfs;
    char empty[1] = "";
    uint64_t number;

    if (strcmp(name, "open_handles") == 0) {
        if (value)
            return -ENOENT;
        cl->cli.volume.per_file_context = false;
        return 0;
    }
    if (strcmp(name, "case_insensitive") == 0) {
        if (value)
            return -ENOENT; /* a flag: with a value it is no option */
        mo->case_insensitive = true;
        cl->cli.volume.case_insensitive = true;
        return 0;
    }
    if (strcmp(name, "kernel_locks") == 0) {
        if (value)
            return -ENOENT;
        mo->kernel_locks = true;
        return 0;
    }
    if (strcmp(name, "slowio_all") == 0) {
        if (value)
            return -ENOENT;
        mo->slowio_all = true;
        return 0;
    }
    /* The options below take a value. Without one they fail as with an
     * empty one: none accepts "". */
    if (!value)
        value = empty;
    if (strcmp(name, "size") == 0)
        return sample_cli_parse_bytes(value, &mo->total_size) ? 0 : -EINVAL;
    if (strcmp(name, "max_file_size") == 0)
        return sample_cli_parse_bytes(value, &mo->max_file_size) &&
                       mo->max_file_size <= MEMFS_DEFAULT_MAX_FILE_SIZE
                   ? 0
                   : -EINVAL;
    if (strcmp(name, "max_nodes") == 0)
        return sample_cli_parse_number(value, UINT64_MAX, &mo->max_nodes) &&
                       mo->max_nodes > 0
                   ? 0
                   : -EINVAL;
    if (strcmp(name, "uid") == 0 || strcmp(name, "gid") == 0) {
        if (!sample_cli_parse_number(value, UINT32_MAX - 1, &number))
            return -EINVAL;
        if (name[0] == 'u')
            mo->root_uid = (uint32_t)number;
        else
            mo->root_gid = (uint32_t)number;
        cl->root_owner_given = true;
        return 0;
    }
    if (strcmp(name, "mode") == 0)
        return sample_cli_parse_octal_mode(value, &mo->root_mode) ? 0
                                                                  : -EINVAL;
    if (strcmp(name, "slowio_percent") == 0) {
        if (!sample_cli_parse_number(value, 100, &number))
            return -EINVAL;
        mo->slowio_percent = (uint32_t)number;
        cl->slowio_percent_given = true;
        return 0;
    }
    if (strcmp(name, "slowio_max_delay") == 0 ||
        strcmp(name, "slowio_min_delay") == 0) {
        if (!sample_cli_parse_number(value, 3600 * 1000, &number))
            return -EINVAL;
        if (strstr(name, "max"))
            mo->slowio_max_delay_ms = (uint32_t)number;
        else
            mo->slowio_min_delay_ms = (uint32_t)number;
        cl->slowio_delay_given = true;
        return 0;
    }
    return -ENOENT;
}

/* Fills *cl. Returns -1 to exit with failure, 0 to run, 1 to exit
 * successfully (after --help). */
static int parse_command_line(int argc, char **argv, struct command_line *cl)
{
    static const char *const operand_names[] = {"mount point"};
    int parsed;

    memset(cl, 0, sizeof *cl);
    memfs_options_init(&cl->memfs);
    sample_cli_init(&cl->cli, "memfs", usage_text, operand_names, 1);
    cl->cli.option = set_memfs_option;
    cl->cli.option_context = cl;
    /* Every change goes through memfs, so the kernel may remember that a
     * name is absent as long as anything else (the usage text says so). */
    cl->cli.volume.negative_timeout_ms = 1000;
    /* memfs keeps no per-open state (its file context is the file): one
     * context per file spares the OPEN/RELEASE round trips. */
    cl->cli.volume.per_file_context = true;
    /* ACLs in the xattr store, kept in step with the modes by fsp. */
    cl->cli.volume.posix_acl = FSP_POSIX_ACL_FSP;

    parsed = sample_cli_parse(&cl->cli, argc, argv);
    if (parsed != 0)
        return parsed < 0 ? -1 : 1;
    /* slowio: a delay alone means "every request"; a share alone gets
     * WinFsp memfs's default delay. */
    if (cl->slowio_delay_given && !cl->slowio_percent_given)
        cl->memfs.slowio_percent = 100;
    if (cl->slowio_percent_given && !cl->slowio_delay_given)
        cl->memfs.slowio_max_delay_ms = 10;
    /* slowio_all alone: every callback, with the default delay. */
    if (cl->memfs.slowio_all && !cl->slowio_percent_given &&
        !cl->slowio_delay_given) {
        cl->memfs.slowio_percent = 100;
        cl->memfs.slowio_max_delay_ms = 10;
    }
    if (cl->memfs.slowio_min_delay_ms > cl->memfs.slowio_max_delay_ms) {
        fprintf(stderr, "memfs: slowio_min_delay is above slowio_max_delay\n");
        return -1;
    }
    /* With allow_other the volume is shared: root owns its top, as for
     * a system mount, unless uid=/gid= say otherwise. */
    if (cl->cli.volume.allow_other && !cl->root_owner_given)
        cl->memfs.root_uid = cl->memfs.root_gid = 0;
    return 0;
}

/* ---- running ---- */

/* Create, mount, serve until unmounted or signalled, clean up.
 * Returns the exit status. */
static int run(const struct command_line *cl)
{
    const struct sample_cli *cli = &cl->cli;
    fsp_fs_interface_t interface;
    struct memfs *memfs = NULL;
    fsp_fs_t *fs = NULL;
    bool ready = false;
    int err;

    err = memfs_create(&cl->memfs, &interface, &memfs);
    if (err < 0) {
        sample_cli_report(cli, NULL, "cannot create the file system", err);
        goto out;
    }
    err = sample_cli_create_volume(cli, &interface, memfs, &fs);
    if (err < 0)
        goto out;
    err = sample_cli_serve(cli, fs, &ready);
out:
    sample_cli_delete_volume(cli, fs, ready); /* closes what is open */
    memfs_delete(memfs);                      /* then frees the files */
    return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct command_line cl;
    int parsed = parse_command_line(argc, argv, &cl);

    if (parsed != 0)
        return parsed < 0 ? 1 : 0;
    if (sample_cli_daemonize(&cl.cli) < 0)
        return 1;
    return run(&cl);
}
