/**
 * @file memfs_main.c
 * The memfs program: command line, mount, run until unmounted.
 *
 *   memfs [-f] [-d] [-o opt[,opt...]]... MOUNTPOINT
 *
 * The order of the calls is the one every fsp file system follows:
 * daemonize (before any thread exists), create the volume, mount, start
 * the workers, report readiness, wait, delete.
 */
#include "memfs.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
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
    "  max_file_size=BYTES   largest file (default 1T, at most 256T)\n"
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
    "  threads=N             worker threads (default 0: one per CPU, at "
    "least 2)\n"
    "  fsname=NAME           source shown in /proc/mounts (default memfs)\n"
    "  subtype=NAME          type shown as fuse.NAME (default memfs)\n"
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
    "  case_insensitive      find names by any case, list them as created\n"
    "  slowio_percent=P      complete P%% of reads, writes and directory\n"
    "                        reads later, from another thread (FSP_PENDING)\n"
    "  slowio_max_delay=MS   ... after a random delay of at most MS (default\n"
    "                        10; slowio_percent defaults to 100 once a\n"
    "                        delay is given)\n"
    "  slowio_min_delay=MS   ... and at least MS (default 0)\n"
    "    slowio_max_delay=0: the callback does the operation itself and\n"
    "    sends the response before it returns FSP_PENDING (the early\n"
    "    response, which fsp must handle too)\n"
    "\n"
    "SIGUSR1 switches the debug log on and off while memfs runs.\n";

/** Everything the command line decides. */
struct command_line {
    struct memfs_options memfs;
    fsp_volume_params_t volume;
    unsigned threads;
    bool foreground;
    bool debug;
    bool root_owner_given; /* uid= or gid= seen */
    bool slowio_percent_given;
    bool slowio_delay_given;
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

/* Bytes: a decimal number with an optional suffix k, m, g or t. */
static bool parse_bytes(const char *text, uint64_t *out)
{
    static const char suffixes[] = "kmgt";
    char digits[32];
    size_t len = strlen(text);
    const char *suffix;
    unsigned shift = 0;
    uint64_t value;

    if (len == 0 || len >= sizeof digits)
        return false;
    memcpy(digits, text, len + 1);
    suffix = strchr(suffixes, tolower((unsigned char)digits[len - 1]));
    if (suffix && *suffix) {
        shift = 10 * (unsigned)(suffix - suffixes + 1);
        digits[len - 1] = '\0';
    }
    if (!parse_number(digits, UINT64_MAX >> shift, &value))
        return false;
    *out = value << shift;
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

static bool parse_octal_mode(const char *text, uint32_t *out)
{
    char *end;
    unsigned long value;

    if (*text < '0' || *text > '7')
        return false;
    errno = 0;
    value = strtoul(text, &end, 8);
    if (errno != 0 || *end != '\0' || value > 07777)
        return false;
    *out = (uint32_t)value;
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
        cl->memfs.case_insensitive = true;
        cl->volume.case_insensitive = true;
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
                             const char *value, bool *known)
{
    struct memfs_options *mo = &cl->memfs;
    fsp_volume_params_t *vp = &cl->volume;
    uint64_t number;

    *known = true;
    if (strcmp(name, "size") == 0)
        return parse_bytes(value, &mo->total_size);
    if (strcmp(name, "max_file_size") == 0)
        return parse_bytes(value, &mo->max_file_size) &&
               mo->max_file_size <= (UINT64_C(256) << 40);
    if (strcmp(name, "max_nodes") == 0)
        return parse_number(value, UINT64_MAX, &mo->max_nodes) &&
               mo->max_nodes > 0;
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
    if (strcmp(name, "uid") == 0 || strcmp(name, "gid") == 0) {
        if (!parse_number(value, UINT32_MAX - 1, &number))
            return false;
        if (name[0] == 'u')
            mo->root_uid = (uint32_t)number;
        else
            mo->root_gid = (uint32_t)number;
        cl->root_owner_given = true;
        return true;
    }
    if (strcmp(name, "mode") == 0)
        return parse_octal_mode(value, &mo->root_mode);
    if (strcmp(name, "slowio_percent") == 0) {
        if (!parse_number(value, 100, &number))
            return false;
        mo->slowio_percent = (uint32_t)number;
        cl->slowio_percent_given = true;
        return true;
    }
    if (strcmp(name, "slowio_max_delay") == 0 ||
        strcmp(name, "slowio_min_delay") == 0) {
        if (!parse_number(value, 3600 * 1000, &number))
            return false;
        if (strstr(name, "max"))
            mo->slowio_max_delay_ms = (uint32_t)number;
        else
            mo->slowio_min_delay_ms = (uint32_t)number;
        cl->slowio_delay_given = true;
        return true;
    }
    /* Names are kept as pointers into argv, which outlives the volume.
     * As in libfuse, fsname is the source column of /proc/mounts and
     * subtype the NAME of the type fuse.NAME. */
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
    bool known;

    if (value) {
        *value++ = '\0';
        if (set_value_option(cl, option, value, &known))
            return true;
    } else {
        if (set_flag_option(cl, option))
            return true;
        set_value_option(cl, option, "", &known); /* just: is it one? */
    }
    if (!known)
        fprintf(stderr, "memfs: unknown option '%s'\n", option);
    else if (!value)
        fprintf(stderr, "memfs: option '%s' needs a value\n", option);
    else
        fprintf(stderr, "memfs: bad value for option '%s': '%s'\n", option,
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
    memfs_options_init(&cl->memfs);
    fsp_volume_params_init(&cl->volume);
    cl->volume.fs_name = "memfs";
    cl->volume.extended_attributes = true;
    /* Every change goes through memfs, so the kernel may remember that a
     * name is absent as long as anything else (the usage text says so). */
    cl->volume.negative_timeout_ms = 1000;

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
    if (optind >= argc) {
        fprintf(stderr, "memfs: no mount point given\n%s", usage_text);
        return -1;
    }
    if (optind < argc - 1) {
        fprintf(stderr, "memfs: unexpected argument '%s'\n", argv[optind + 1]);
        return -1;
    }
    cl->mountpoint = argv[optind];
    /* slowio: a delay alone means "every request"; a share alone gets
     * WinFsp memfs's default delay. */
    if (cl->slowio_delay_given && !cl->slowio_percent_given)
        cl->memfs.slowio_percent = 100;
    if (cl->slowio_percent_given && !cl->slowio_delay_given)
        cl->memfs.slowio_max_delay_ms = 10;
    if (cl->memfs.slowio_min_delay_ms > cl->memfs.slowio_max_delay_ms) {
        fprintf(stderr, "memfs: slowio_min_delay is above slowio_max_delay\n");
        return -1;
    }
    /* With allow_other the volume is shared: root owns its top, as for
     * a system mount, unless uid=/gid= say otherwise. */
    if (cl->volume.allow_other && !cl->root_owner_given)
        cl->memfs.root_uid = cl->memfs.root_gid = 0;
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
        fprintf(stderr, "memfs: %s\n", message);
    else
        fprintf(stderr, "memfs: %s: %s\n", what, strerror(-err));
}

/* Create, mount, serve until unmounted or signalled, clean up.
 * Returns the exit status. */
static int run(const struct command_line *cl)
{
    fsp_fs_interface_t interface;
    struct memfs *memfs = NULL;
    fsp_fs_t *fs = NULL;
    bool ready = false;
    int err;

    err = memfs_create(&cl->memfs, &interface, &memfs);
    if (err < 0) {
        report_failure(NULL, "cannot create the file system", err);
        goto out;
    }
    err = fsp_fs_create(&cl->volume, &interface, memfs, &fs);
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
    fsp_daemon_ready(0); /* the parent of fsp_daemonize() exits 0 now */
    ready = true;
    err = fsp_fs_wait(fs);
    if (err < 0)
        fprintf(stderr, "memfs: connection to the kernel lost: %s\n",
                strerror(-err));
out:
    if (!ready)
        fsp_daemon_ready(1);
    handle_stop_signals(NULL); /* before the volume goes away */
    if (fs)
        fsp_fs_delete(fs); /* closes what is still open */
    memfs_delete(memfs);   /* then frees the files */
    return err < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct command_line cl;
    int parsed = parse_command_line(argc, argv, &cl);

    if (parsed != 0)
        return parsed < 0 ? 1 : 0;
    /* Before any thread is created: fork() keeps only the calling one. */
    if (!cl.foreground) {
        int err = fsp_daemonize();
        if (err < 0) {
            fprintf(stderr, "memfs: cannot run in the background: %s\n",
                    strerror(-err));
            return 1;
        }
    }
    return run(&cl);
}
