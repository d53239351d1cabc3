/**
 * @file ptfs_main.c
 * The ptfs program: command line, mount, run until unmounted.
 *
 *   ptfs [-f] [-d] [-o opt[,opt...]]... SOURCE MOUNTPOINT
 *
 * The order of the calls is memfs's, the one every fsp file system
 * follows: daemonize (before any thread exists), create the volume, mount,
 * start the workers (and here the change watcher), report readiness,
 * wait, delete.
 */
#define _GNU_SOURCE

#include "ptfs.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    "  file_info_timeout=MS  how long the kernel caches a file's attributes\n"
    "  dir_info_timeout=MS   the same for directories\n"
    "  negative_timeout=MS   how long it remembers that a name is absent\n"
    "    MS: milliseconds, 0 never caches, -1 caches forever (default "
    "1000)\n"
    "  threads=N             worker threads (default 0: one per CPU, at "
    "least 2)\n"
    "  fsname=NAME           source shown in /proc/mounts (default SOURCE)\n"
    "  subtype=NAME          type shown as fuse.NAME (default ptfs)\n"
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
    "\n"
    "Byte-range and flock locks are handled by the kernel and are local to\n"
    "the mount: they do not lock the files of SOURCE against other users.\n"
    "Run as root, ptfs gives new files the caller's owner.\n"
    "SIGUSR1 switches the debug log on and off while ptfs runs.\n";

/** Everything the command line decides. */
struct command_line {
    struct ptfs_options ptfs;
    struct ptfs_redirect_spec *redirects;
    size_t redirect_cap;
    fsp_volume_params_t volume;
    unsigned threads;
    bool foreground;
    bool debug;
    const char *mountpoint;
};

/* ---- values ---- */

/* A decimal number no greater than max. */
static bool parse_number(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long value;

    if (!isdigit((unsigned char)*text))
        return false;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > max)
        return false;
    *out = value;
    return true;
}

/* Milliseconds, or -1 (FSP_TIMEOUT_INFINITE). */
static bool parse_timeout(const char *text, int64_t *out)
{
    uint64_t value;

    if (strcmp(text, "-1") == 0) {
        *out = FSP_TIMEOUT_INFINITE;
        return true;
    }
    if (!parse_number(text, INT64_MAX, &value))
        return false;
    *out = (int64_t)value;
    return true;
}

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

/* ---- -o options ---- */

/* Options without a value: each sets one flag of the volume parameters. */
static const struct {
    const char *name;
    size_t offset; /* of a bool in fsp_volume_params_t */
    bool value;
} flag_options[] = {
    {"allow_other", offsetof(fsp_volume_params_t, allow_other), true},
    {"default_permissions",
     offsetof(fsp_volume_params_t, default_permissions), true},
    {"no_default_permissions",
     offsetof(fsp_volume_params_t, default_permissions), false},
    {"auto_unmount", offsetof(fsp_volume_params_t, auto_unmount), true},
    {"no_auto_unmount", offsetof(fsp_volume_params_t, auto_unmount), false},
    {"nonempty", offsetof(fsp_volume_params_t, nonempty), true},
    {"ro", offsetof(fsp_volume_params_t, read_only), true},
    {"rw", offsetof(fsp_volume_params_t, read_only), false},
    {"writeback_cache", offsetof(fsp_volume_params_t, writeback_cache), true},
    {"keep_cache", offsetof(fsp_volume_params_t, keep_cache), true},
};

static bool set_flag_option(struct command_line *cl, const char *name)
{
    size_t i;

    if (strcmp(name, "case_insensitive") == 0) {
        cl->ptfs.case_insensitive = true;
        cl->volume.case_insensitive = true;
        return true;
    }
    if (strcmp(name, "notify") == 0) {
        cl->ptfs.notify = true;
        return true;
    }
    if (strcmp(name, "confine_links") == 0) {
        cl->ptfs.confine_links = true;
        return true;
    }
    for (i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++) {
        if (strcmp(name, flag_options[i].name) == 0) {
            *(bool *)((char *)&cl->volume + flag_options[i].offset) =
                flag_options[i].value;
            return true;
        }
    }
    return false;
}

/* One option that takes a value. Returns false if the value is bad;
 * *known is false if the name is not an option at all. */
static bool set_value_option(struct command_line *cl, const char *name,
                             char *value, bool *known)
{
    fsp_volume_params_t *vp = &cl->volume;
    uint64_t number;

    *known = true;
    if (strcmp(name, "redirect") == 0)
        return add_redirect(cl, value);
    if (strcmp(name, "redirect_mode") == 0) {
        if (strcmp(value, "transparent") == 0)
            cl->ptfs.redirect_mode = PTFS_REDIRECT_TRANSPARENT;
        else if (strcmp(value, "symlink") == 0)
            cl->ptfs.redirect_mode = PTFS_REDIRECT_SYMLINK;
        else
            return false;
        return true;
    }
    if (strcmp(name, "file_info_timeout") == 0)
        return parse_timeout(value, &vp->file_info_timeout_ms);
    if (strcmp(name, "dir_info_timeout") == 0)
        return parse_timeout(value, &vp->dir_info_timeout_ms);
    if (strcmp(name, "negative_timeout") == 0)
        return parse_timeout(value, &vp->negative_timeout_ms);
    if (strcmp(name, "threads") == 0) {
        if (!parse_number(value, 1024, &number))
            return false;
        cl->threads = (unsigned)number;
        return true;
    }
    /* Names are kept as pointers into argv, which outlives the volume. */
    if (strcmp(name, "fsname") == 0) {
        vp->source = value;
        return *value != '\0';
    }
    if (strcmp(name, "subtype") == 0) {
        vp->fs_name = value;
        return *value != '\0';
    }
    *known = false;
    return false;
}

/* One "name" or "name=value" of -o. Prints what is wrong if anything. */
static bool parse_option(struct command_line *cl, char *option)
{
    char *value = strchr(option, '=');
    char empty[1] = "";
    bool known;

    if (value) {
        *value++ = '\0';
        if (set_value_option(cl, option, value, &known))
            return true;
    } else {
        if (set_flag_option(cl, option))
            return true;
        set_value_option(cl, option, empty, &known); /* just: is it one? */
    }
    if (!known)
        fprintf(stderr, "ptfs: unknown option '%s'\n", option);
    else if (!value)
        fprintf(stderr, "ptfs: option '%s' needs a value\n", option);
    else
        fprintf(stderr, "ptfs: bad value for option '%s': '%s'\n", option,
                value);
    return false;
}

/* A comma-separated -o argument. argv's strings are ours to cut up. */
static bool parse_option_list(struct command_line *cl, char *list)
{
    char *saveptr, *option;

    for (option = strtok_r(list, ",", &saveptr); option;
         option = strtok_r(NULL, ",", &saveptr))
        if (!parse_option(cl, option))
            return false;
    return true;
}

/* Fills *cl. Returns -1 to exit with failure, 0 to run, 1 to exit
 * successfully (after --help). */
static int parse_command_line(int argc, char **argv, struct command_line *cl)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;

    memset(cl, 0, sizeof *cl);
    fsp_volume_params_init(&cl->volume);
    cl->volume.fs_name = "ptfs";
    cl->volume.extended_attributes = true;

    while ((c = getopt_long(argc, argv, "fdho:", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            cl->foreground = true;
            break;
        case 'd':
            cl->debug = cl->foreground = true;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        case 'o':
            if (!parse_option_list(cl, optarg))
                return -1;
            break;
        default:
            fputs(usage_text, stderr);
            return -1;
        }
    }
    if (argc - optind < 2) {
        fprintf(stderr, "ptfs: %s\n%s",
                optind >= argc ? "no source directory and mount point given"
                               : "no mount point given",
                usage_text);
        return -1;
    }
    if (argc - optind > 2) {
        fprintf(stderr, "ptfs: unexpected argument '%s'\n", argv[optind + 2]);
        return -1;
    }
    cl->ptfs.source = argv[optind];
    cl->mountpoint = argv[optind + 1];
    if (!cl->volume.source)
        cl->volume.source = cl->ptfs.source;
    return 0;
}

/* ---- running ---- */

/* The volume to stop on SIGINT, SIGTERM or SIGHUP. A signal handler gets
 * no argument, hence this one global. fsp_fs_stop() is async-signal-safe. */
static fsp_fs_t *volatile volume_to_stop;

static void on_stop_signal(int signo)
{
    fsp_fs_t *fs = volume_to_stop;

    (void)signo;
    if (fs)
        fsp_fs_stop(fs);
}

/* SIGUSR1 flips the debug log, wherever it was last switched from. */
static void on_debug_signal(int signo)
{
    fsp_fs_t *fs = volume_to_stop;

    (void)signo;
    /* Both calls only touch atomics: fine in a signal handler. */
    if (fs)
        fsp_fs_set_debug(fs, !fsp_fs_get_debug(fs));
}

static void handle_stop_signals(fsp_fs_t *fs)
{
    static const int signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    size_t i;

    volume_to_stop = fs;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fs ? on_debug_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fs ? on_stop_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (i = 0; i < sizeof signals / sizeof signals[0]; i++)
        sigaction(signals[i], &sa, NULL);
}

/* Say why mounting or starting failed: fsp's explanation if it has one. */
static void report_failure(fsp_fs_t *fs, const char *what, int err)
{
    const char *message = fs ? fsp_fs_error_message(fs) : "";

    if (message && *message)
        fprintf(stderr, "ptfs: %s\n", message);
    else
        fprintf(stderr, "ptfs: %s: %s\n", what, strerror(-err));
}

/* Create, mount, serve until unmounted or signalled, clean up.
 * Returns the exit status. */
static int run(const struct command_line *cl)
{
    fsp_fs_interface_t interface;
    struct ptfs *ptfs = NULL;
    fsp_fs_t *fs = NULL;
    char message[512];
    bool ready = false;
    int err;

    /* Modes are the caller's, umask already applied by the kernel. */
    umask(0);
    /* A write past RLIMIT_FSIZE must fail with EFBIG, not kill ptfs. */
    signal(SIGXFSZ, SIG_IGN);
    err = ptfs_create(&cl->ptfs, &interface, &ptfs, message, sizeof message);
    if (err < 0) {
        if (message[0])
            fprintf(stderr, "ptfs: %s\n", message);
        else
            report_failure(NULL, "cannot create the file system", err);
        goto out;
    }
    err = fsp_fs_create(&cl->volume, &interface, ptfs, &fs);
    if (err < 0) {
        report_failure(NULL, "cannot create the volume", err);
        goto out;
    }
    fsp_fs_set_debug(fs, cl->debug);
    handle_stop_signals(fs);
    err = fsp_fs_mount(fs, cl->mountpoint);
    if (err < 0) {
        report_failure(fs, cl->mountpoint, err);
        goto out;
    }
    err = fsp_fs_start(fs, cl->threads);
    if (err < 0) {
        report_failure(fs, "cannot start", err);
        goto out;
    }
    err = ptfs_start(ptfs, fs);
    if (err < 0) {
        report_failure(NULL, "cannot watch SOURCE for changes", err);
        goto out;
    }
    fsp_daemon_ready(0); /* the parent of fsp_daemonize() exits 0 now */
    ready = true;
    err = fsp_fs_wait(fs);
    if (err < 0)
        fprintf(stderr, "ptfs: connection to the kernel lost: %s\n",
                strerror(-err));
out:
    if (!ready)
        fsp_daemon_ready(1);
    handle_stop_signals(NULL); /* before the volume goes away */
    if (fs)
        fsp_fs_delete(fs); /* closes what is still open */
    ptfs_delete(ptfs);     /* then the watcher and SOURCE */
    return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct command_line cl;
    int parsed = parse_command_line(argc, argv, &cl), status;

    if (parsed != 0) {
        free(cl.redirects);
        return parsed < 0 ? 1 : 0;
    }
    /* Before any thread is created: fork() keeps only the calling one. */
    if (!cl.foreground) {
        int err = fsp_daemonize();
        if (err < 0) {
            fprintf(stderr, "ptfs: cannot run in the background: %s\n",
                    strerror(-err));
            free(cl.redirects);
            return 1;
        }
    }
    status = run(&cl);
    free(cl.redirects);
    return status;
}
