/**
 * @file ptfs_main.c
 * The ptfs program: command line, mount, run until unmounted.
 *
 *   ptfs [-f] [-d] [-o opt[,opt...]]... SOURCE MOUNTPOINT
 *
 * The order of the calls is memfs's, the one every fsp file system
 * follows: daemonize (before any thread exists), create the volume, mount,
 * start the workers (and here the change watcher), report readiness,
 * wait, delete. What the samples share of it, and the options every
 * volume takes (timeouts, threads, allow_other, ro, ...), is in
 * ../common/sample_cli.h; this file adds ptfs's own.
 */
#define _GNU_SOURCE

#include "ptfs.h"
#include "sample_cli.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

static const char usage_text[] =
    "usage: ptfs [-f] [-d] [-o opt[,opt...]]... SOURCE MOUNTPOINT\n"
    "\n"
    "A passthrough file system: serves the directory SOURCE at MOUNTPOINT.\n"
    "Nothing under the mount reaches outside SOURCE: not '..', not a\n"
    "symbolic link (a link whose target would leave the volume is shown\n"
    "with its meaning inside it: '/etc' is the volume's own 'etc').\n"
    "\n"
    "  -f             stay in the foreground\n"
    "  -d             log every request and reply to stderr (implies -f)\n"
    "  -h, --help     show this help\n"
    "  -o OPTIONS     comma-separated, from:\n"
    "\n"
    "  redirect=VIRTUAL:REAL the name VIRTUAL serves the file REAL (both\n"
    "                        relative to SOURCE; repeatable). VIRTUAL is\n"
    "                        listed with REAL's attributes and contents and\n"
    "                        hides a file of that name in SOURCE. It is\n"
    "                        configuration, not a file: unlinking or renaming\n"
    "                        it fails with EBUSY, and a directory holding one\n"
    "                        is never empty. REAL must exist inside SOURCE.\n"
    "  redirect_mode=MODE    transparent (the default) or symlink: VIRTUAL\n"
    "                        shows as a symbolic link to REAL, relative to\n"
    "                        VIRTUAL's directory\n"
    "  case_insensitive      find names by any case, list them as stored;\n"
    "                        a name taken in another case exists already\n"
    "  confine_links         serve a link whose target leads out of the\n"
    "                        volume (\"/etc\", \"../..\" above the root) with\n"
    "                        its meaning inside it (the volume's etc, the\n"
    "                        root), so that a client following links never\n"
    "                        leaves the volume; default: targets as written\n"
    "                        (ptfs itself never follows a link out of SOURCE)\n"
    "  notify                watch SOURCE (inotify) and tell the kernel of\n"
    "                        changes made there directly, so that they show\n"
    "                        at once even with long cache timeouts\n"
    "  no_passthrough        serve every read and write in ptfs; by default\n"
    "                        the kernel reads, writes and maps regular files\n"
    "                        of SOURCE itself (kernel passthrough) when ptfs\n"
    "                        has CAP_SYS_ADMIN and writeback_cache is off\n"
    "  kernel_locks          leave fcntl(2) and flock(2) locks to the kernel,\n"
    "                        local to the mount; by default they are locks of\n"
    "                        SOURCE's files, held against its other users\n"
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
    "  fsname=NAME           source shown in /proc/mounts (default SOURCE)\n"
    "  subtype=NAME          type shown as fuse.NAME (default ptfs); empty\n"
    "                        (subtype=): the plain type fuse\n"
    "  allow_other           let other users in (needs root or\n"
    "                        user_allow_other in /etc/fuse.conf)\n"
    "  default_permissions   the kernel checks permissions (the default)\n"
    "  no_default_permissions\n"
    "  auto_unmount          unmount if ptfs dies (the default)\n"
    "  no_auto_unmount\n"
    "  nonempty              mount over a non-empty directory\n"
    "  ro, rw                read-only or read-write (default rw)\n"
    "  writeback_cache       let the kernel cache writes\n"
    "  keep_cache            keep cached data across opens\n"
    "  suid, dev             set-user-ID bits and device nodes work (root\n"
    "                        only; default nosuid, nodev: device nodes do\n"
    "                        not open)\n"
    "  nosuid, nodev\n"
    "  relatime, strictatime, noatime, nodiratime\n"
    "                        the mount's access time flag (default\n"
    "                        relatime); access times are SOURCE's, kept\n"
    "                        by the mount SOURCE is on; with noatime\n"
    "                        ptfs opens files O_NOATIME (and turns\n"
    "                        passthrough off), with nodiratime directories\n"
    "  noacl                 no POSIX ACLs (default: SOURCE's, enforced by\n"
    "                        the kernel)\n"
    "  io_uring              serve requests through FUSE over io_uring (needs\n"
    "                        /sys/module/fuse/parameters/enable_uring = Y;\n"
    "                        otherwise logs why and uses /dev/fuse)\n"
    "\n"
    "Byte-range and flock locks are handled by the kernel and are local to\n"
    "the mount: they do not lock the files of SOURCE against other users.\n"
    "Run as root, ptfs gives new files the caller's owner.\n"
    "SIGUSR1 switches the debug log on and off while ptfs runs.\n";

/** Everything the command line decides. */
struct command_line {
    struct sample_cli cli; /* -f, -d, the volume options, the operands */
    struct ptfs_options ptfs;
    struct ptfs_redirect_spec *redirects;
    size_t redirect_cap;
};

/* ---- ptfs's own -o options ---- */

/* VIRTUAL:REAL, cut at the first ':' (the string is argv's). */
static bool add_redirect(struct command_line *cl, char *value)
{
    char *colon = strchr(value, ':');
    struct ptfs_redirect_spec *specs;

    if (!colon || colon == value || colon[1] == '\0')
        return false;
    if (cl->ptfs.redirect_count == cl->redirect_cap) {
        size_t cap = cl->redirect_cap ? cl->redirect_cap * 2 : 4;

        specs = realloc(cl->redirects, cap * sizeof *specs);
        if (!specs)
            return false;
        cl->redirects = specs;
        cl->redirect_cap = cap;
    }
    *colon = '\0';
    cl->redirects[cl->ptfs.redirect_count].virtual_path = value;
    cl->redirects[cl->ptfs.redirect_count].real_path = colon + 1;
    cl->ptfs.redirect_count++;
    cl->ptfs.redirects = cl->redirects;
    return true;
}

/* Called by sample_cli_parse() for each option it does not know. value is
 * NULL for an option without '='. Returns 0, -ENOENT for an unknown name,
 * -EINVAL for a bad or missing value. */
static int set_ptfs_option(void *context, const char *name, char *value)
{
    struct command_line *cl = context;
    bool *flag = NULL;

    if (strcmp(name, "no_passthrough") == 0) {
        if (value)
            return -ENOENT;
        cl->ptfs.passthrough = false;
        return 0;
    }
    if (strcmp(name, "case_insensitive") == 0)
        flag = &cl->ptfs.case_insensitive;
    else if (strcmp(name, "notify") == 0)
        flag = &cl->ptfs.notify;
    else if (strcmp(name, "confine_links") == 0)
        flag = &cl->ptfs.confine_links;
    else if (strcmp(name, "kernel_locks") == 0)
        flag = &cl->ptfs.kernel_locks;
    if (flag) {
        if (value)
            return -ENOENT; /* a flag: with a value it is no option */
        *flag = true;
        /* The volume looks names up without case as ptfs does. */
        cl->cli.volume.case_insensitive = cl->ptfs.case_insensitive;
        return 0;
    }
    if (strcmp(name, "redirect") == 0)
        return value && add_redirect(cl, value) ? 0 : -EINVAL;
    if (strcmp(name, "redirect_mode") == 0) {
        if (value && strcmp(value, "transparent") == 0)
            cl->ptfs.redirect_mode = PTFS_REDIRECT_TRANSPARENT;
        else if (value && strcmp(value, "symlink") == 0)
            cl->ptfs.redirect_mode = PTFS_REDIRECT_SYMLINK;
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
    static const char *const operand_names[] = {"source directory",
                                                "mount point"};
    int parsed;

    memset(cl, 0, sizeof *cl);
    sample_cli_init(&cl->cli, "ptfs", usage_text, operand_names, 2);
    cl->ptfs.passthrough = true; /* -o no_passthrough turns it off */
    /* SOURCE keeps mode and ACLs in step itself (-o noacl: no ACLs). */
    cl->cli.volume.posix_acl = FSP_POSIX_ACL_FILE_SYSTEM;
    cl->cli.option = set_ptfs_option;
    cl->cli.option_context = cl;

    parsed = sample_cli_parse(&cl->cli, argc, argv);
    if (parsed != 0)
        return parsed < 0 ? -1 : 1;
    cl->ptfs.source = cl->cli.operands[0];
    if (!cl->cli.volume.source)
        cl->cli.volume.source = cl->ptfs.source;
    return 0;
}

/* ---- running ---- */

/* Create, mount, serve until unmounted or signalled, clean up.
 * Returns the exit status. */
/*
 * ptfs keeps a descriptor of SOURCE's file open for every file the kernel
 * knows (its meta context), and the kernel keeps every file it has looked
 * up for as long as its caches allow: tens of thousands after a large copy.
 * So raise the open file limit as far as allowed: to the hard limit, and
 * as root (CAP_SYS_RESOURCE) to the system's ceiling, fs.nr_open.
 */
static void raise_open_file_limit(void)
{
    struct rlimit rl;
    unsigned long ceiling = 0;
    FILE *f;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    f = fopen("/proc/sys/fs/nr_open", "re");
    if (f) {
        if (fscanf(f, "%lu", &ceiling) != 1)
            ceiling = 0;
        fclose(f);
    }
    if (ceiling > rl.rlim_max) {
        struct rlimit higher = { .rlim_cur = ceiling, .rlim_max = ceiling };

        if (setrlimit(RLIMIT_NOFILE, &higher) == 0)
            return;
    }
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
}

static int run(const struct command_line *cl)
{
    const struct sample_cli *cli = &cl->cli;
    struct ptfs_options options;
    fsp_fs_interface_t interface;
    struct ptfs *ptfs = NULL;
    fsp_fs_t *fs = NULL;
    char message[512];
    bool ready = false;
    int err;

    /* Modes are the caller's, umask already applied (by the kernel, or
     * with ACLs by fsp where the directory has no default ACL). */
    umask(0);
    raise_open_file_limit();
    /* A write past RLIMIT_FSIZE must fail with EFBIG, not kill ptfs. */
    signal(SIGXFSZ, SIG_IGN);
    options = cl->ptfs;
    options.atime = cli->volume.atime;
    options.nodiratime = cli->volume.nodiratime;
    err = ptfs_create(&options, &interface, &ptfs, message, sizeof message);
    if (err < 0) {
        if (message[0])
            sample_cli_message(cli, "%s", message);
        else
            sample_cli_report(cli, NULL, "cannot create the file system",
                              err);
        goto out;
    }
    err = sample_cli_create_volume(cli, &interface, ptfs, &fs);
    if (err < 0)
        goto out;
    /* Watch SOURCE before the mount shows: a change made between the
     * mount and a later watch would never be reported. Until the volume
     * runs, fsp_fs_notify() drops what it is told; nothing is cached. */
    err = ptfs_start(ptfs, fs);
    if (err < 0) {
        sample_cli_report(cli, NULL, "cannot watch SOURCE for changes", err);
        goto out;
    }
    err = sample_cli_serve(cli, fs, &ready);
out:
    ptfs_stop(ptfs); /* the watcher notifies fs: stop it first */
    sample_cli_delete_volume(cli, fs, ready); /* closes what is open */
    ptfs_delete(ptfs); /* then the watcher and SOURCE */
    return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct command_line cl;
    int parsed = parse_command_line(argc, argv, &cl), status = 1;

    if (parsed != 0) {
        status = parsed < 0 ? 1 : 0;
        goto out;
    }
    if (sample_cli_daemonize(&cl.cli) < 0)
        goto out;
    status = run(&cl);
out:
    free(cl.redirects);
    return status;
}
