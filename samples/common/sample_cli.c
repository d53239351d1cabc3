/**
 * @file sample_cli.c
 * The command line and run sequence the sample file systems share (see
 * sample_cli.h): -f/-d/-h/-o, the common volume options, signals,
 * failure messages.
 */
#define _GNU_SOURCE

#include "sample_cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

void sample_cli_init(struct sample_cli *cli, const char *program,
                     const char *usage, const char *const *operand_names,
                     size_t operand_count)
{
    memset(cli, 0, sizeof *cli);
    cli->program = program;
    cli->usage = usage;
    cli->operand_names = operand_names;
    cli->operand_count = operand_count;
    fsp_volume_params_init(&cli->volume);
    cli->volume.fs_name = program;
    cli->volume.extended_attributes = true;
    /* The samples use the caller's ids only where the kernel still sends
     * them (creates), so idmapped views cost them nothing. */
    cli->volume.allow_idmap = true;
}

/* ---- values ---- */

bool sample_cli_parse_number(const char *text, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long value;

    /* strtoull() alone would take a sign or leading blanks. */
    if (!isdigit((unsigned char)*text))
        return false;
    errno = 0;
    value = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || value > max)
        return false;
    *out = value;
    return true;
}

bool sample_cli_parse_bytes(const char *text, uint64_t *out)
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
    /* strchr() finds the terminating '\0' too: *suffix tells it apart. */
    suffix = strchr(suffixes, tolower((unsigned char)digits[len - 1]));
    if (suffix && *suffix) {
        shift = 10 * (unsigned)(suffix - suffixes + 1);
        digits[len - 1] = '\0';
    }
    if (!sample_cli_parse_number(digits, UINT64_MAX >> shift, &value))
        return false;
    *out = value << shift;
    return true;
}

bool sample_cli_parse_timeout(const char *text, int64_t *out)
{
    uint64_t value;

    if (strcmp(text, "-1") == 0) {
        *out = FSP_TIMEOUT_INFINITE;
        return true;
    }
    if (!sample_cli_parse_number(text, INT64_MAX, &value))
        return false;
    *out = (int64_t)value;
    return true;
}

bool sample_cli_parse_octal_mode(const char *text, uint32_t *out)
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
    {"io_uring", offsetof(fsp_volume_params_t, io_uring), true},
    {"suid", offsetof(fsp_volume_params_t, allow_setuid), true},
    {"nosuid", offsetof(fsp_volume_params_t, allow_setuid), false},
    {"dev", offsetof(fsp_volume_params_t, allow_devices), true},
    {"nodev", offsetof(fsp_volume_params_t, allow_devices), false},
    {"nodiratime", offsetof(fsp_volume_params_t, nodiratime), true},
};

/* The access time policies, as mount(8) names them. */
static const struct {
    const char *name;
    uint8_t policy; /* an fsp_atime_policy */
} atime_options[] = {
    {"relatime", FSP_ATIME_RELATIME},
    {"strictatime", FSP_ATIME_STRICT},
    {"noatime", FSP_ATIME_NEVER},
};

static int set_flag_option(struct sample_cli *cli, const char *name)
{
    size_t i;

    /* The sample chose who keeps ACLs; this turns them off. */
    if (strcmp(name, "noacl") == 0) {
        cli->volume.posix_acl = FSP_POSIX_ACL_OFF;
        return 0;
    }

    for (i = 0; i < sizeof atime_options / sizeof atime_options[0]; i++) {
        if (strcmp(name, atime_options[i].name) == 0) {
            cli->volume.atime = atime_options[i].policy;
            return 0;
        }
    }
    for (i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++) {
        if (strcmp(name, flag_options[i].name) == 0) {
            *(bool *)((char *)&cli->volume + flag_options[i].offset) =
                flag_options[i].value;
            return 0;
        }
    }
    return -ENOENT;
}

/* A common option that takes a value; value is NULL if none was given.
 * Returns 0, -ENOENT for a name that is not one, -EINVAL for a bad or
 * missing value. */
static int set_value_option(struct sample_cli *cli, const char *name,
                            const char *value)
{
    fsp_volume_params_t *vp = &cli->volume;
    int64_t *timeout = NULL;
    uint64_t number;

    if (strcmp(name, "file_info_timeout") == 0)
        timeout = &vp->file_info_timeout_ms;
    else if (strcmp(name, "dir_info_timeout") == 0)
        timeout = &vp->dir_info_timeout_ms;
    else if (strcmp(name, "negative_timeout") == 0)
        timeout = &vp->negative_timeout_ms;
    else if (strcmp(name, "threads") != 0 && strcmp(name, "fsname") != 0 &&
             strcmp(name, "subtype") != 0 &&
             strcmp(name, "request_timeout") != 0)
        return -ENOENT;
    if (!value)
        return -EINVAL;
    if (timeout)
        return sample_cli_parse_timeout(value, timeout) ? 0 : -EINVAL;
    if (strcmp(name, "threads") == 0) {
        if (!sample_cli_parse_number(value, 1024, &number))
            return -EINVAL;
        cli->threads = (unsigned)number;
        return 0;
    }
    if (strcmp(name, "request_timeout") == 0) {
        if (!sample_cli_parse_number(value, UINT16_MAX, &number))
            return -EINVAL;
        vp->request_timeout_s = (uint16_t)number;
        return 0;
    }
    /* Names are kept as pointers into argv, which outlives the volume.
     * As in libfuse, fsname is the source column of /proc/mounts and
     * subtype the NAME of the type fuse.NAME; an empty subtype leaves
     * the plain type fuse. */
    if (strcmp(name, "subtype") == 0) {
        vp->fs_name = value;
        return 0;
    }
    if (*value == '\0')
        return -EINVAL;
    vp->source = value;
    return 0;
}

/* One "name" or "name=value" of -o: the common options first, then the
 * sample's. Prints what is wrong if anything. */
static int parse_option(struct sample_cli *cli, char *option)
{
    char *value = strchr(option, '=');
    int err;

    if (value)
        *value++ = '\0';
    err = value ? -ENOENT : set_flag_option(cli, option);
    if (err == -ENOENT)
        err = set_value_option(cli, option, value);
    if (err == -ENOENT && cli->option)
        err = cli->option(cli->option_context, option, value);
    if (err == 0)
        return 0;
    if (err == -ENOENT)
        fprintf(stderr, "%s: unknown option '%s'\n", cli->program, option);
    else if (!value)
        fprintf(stderr, "%s: option '%s' needs a value\n", cli->program,
                option);
    else
        fprintf(stderr, "%s: bad value for option '%s': '%s'\n",
                cli->program, option, value);
    return -EINVAL;
}

/* A comma-separated -o argument. argv's strings are ours to cut up. */
static int parse_option_list(struct sample_cli *cli, char *list)
{
    char *saveptr, *option;
    int err;

    for (option = strtok_r(list, ",", &saveptr); option;
         option = strtok_r(NULL, ",", &saveptr)) {
        err = parse_option(cli, option);
        if (err < 0)
            return err;
    }
    return 0;
}

/* "no source directory and mount point given": the operands from the
 * first missing one on. */
static void report_missing_operands(const struct sample_cli *cli,
                                    size_t given)
{
    size_t i;

    fprintf(stderr, "%s: no ", cli->program);
    for (i = given; i < cli->operand_count; i++)
        fprintf(stderr, "%s%s", i > given ? " and " : "",
                cli->operand_names[i]);
    fprintf(stderr, " given\n%s", cli->usage);
}

int sample_cli_parse(struct sample_cli *cli, int argc, char **argv)
{
    static const struct option long_options[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    size_t given;
    int c;

    while ((c = getopt_long(argc, argv, "fdho:", long_options, NULL)) != -1) {
        switch (c) {
        case 'f':
            cli->foreground = true;
            break;
        case 'd':
            cli->debug = cli->foreground = true;
            break;
        case 'h':
            fputs(cli->usage, stdout);
            return 1;
        case 'o':
            if (parse_option_list(cli, optarg) < 0)
                return -EINVAL;
            break;
        default:
            fputs(cli->usage, stderr);
            return -EINVAL;
        }
    }
    given = (size_t)(argc - optind);
    if (given < cli->operand_count) {
        report_missing_operands(cli, given);
        return -EINVAL;
    }
    if (given > cli->operand_count) {
        fprintf(stderr, "%s: unexpected argument '%s'\n", cli->program,
                argv[optind + (int)cli->operand_count]);
        return -EINVAL;
    }
    cli->operands = argv + optind;
    cli->mountpoint = cli->operands[cli->operand_count - 1];
    return 0;
}

/* ---- running ---- */

/* Set in the background child of sample_cli_daemonize(): messages go to
 * syslog as well as to stderr (which is /dev/null once the parent was
 * told the volume is ready). */
static bool in_background;

/* The volumes' log handler in the background: stderr, for the terminal
 * of the parent still waiting for readiness, and syslog, for the rest of
 * the daemon's life. */
static void log_to_stderr_and_syslog(fsp_fs_t *fs, int level,
                                     const char *message, void *user)
{
    fsp_log_to_stderr(fs, level, message, user);
    fsp_log_to_syslog(fs, level, message, user);
}

void sample_cli_message(const struct sample_cli *cli, const char *fmt, ...)
{
    char text[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s: %s\n", cli->program, text);
    if (in_background)
        syslog(LOG_ERR, "%s", text);
}

int sample_cli_daemonize(const struct sample_cli *cli)
{
    int err = 0;

    if (cli->foreground)
        goto out;
    err = fsp_daemonize();
    if (err < 0) {
        sample_cli_message(cli, "cannot run in the background: %s",
                           strerror(-err));
        goto out;
    }
    /* The identity is the program, with the pid: "memfs[1234]: ...". */
    openlog(cli->program, LOG_PID, LOG_DAEMON);
    in_background = true;
    fsp_set_log_handler(log_to_stderr_and_syslog, NULL);
out:
    return err;
}

void sample_cli_report(const struct sample_cli *cli, fsp_fs_t *fs,
                       const char *what, int err)
{
    const char *message = fs ? fsp_fs_error_message(fs) : "";

    if (message && *message)
        sample_cli_message(cli, "%s", message);
    else
        sample_cli_message(cli, "%s: %s", what, strerror(-err));
}

/* The volume the signals act on. A signal handler gets no argument,
 * hence this one global. */
static fsp_fs_t *volatile signalled_volume;

/* SIGINT, SIGTERM, SIGHUP. fsp_fs_stop() is async-signal-safe. */
static void on_stop_signal(int signo)
{
    fsp_fs_t *fs = signalled_volume;

    (void)signo;
    if (fs)
        fsp_fs_stop(fs);
}

/* SIGUSR1 flips the debug log, wherever it was last switched from. */
static void on_debug_signal(int signo)
{
    fsp_fs_t *fs = signalled_volume;

    (void)signo;
    /* Both calls only touch atomics: fine in a signal handler. */
    if (fs)
        fsp_fs_set_debug(fs, !fsp_fs_get_debug(fs));
}

/* Points the signals at fs, or back to their defaults if fs is NULL. */
static void handle_signals(fsp_fs_t *fs)
{
    static const int stop_signals[] = {SIGINT, SIGTERM, SIGHUP};
    struct sigaction sa;
    size_t i;

    signalled_volume = fs;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fs ? on_debug_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGUSR1, &sa, NULL);
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = fs ? on_stop_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (i = 0; i < sizeof stop_signals / sizeof stop_signals[0]; i++)
        sigaction(stop_signals[i], &sa, NULL);
}

int sample_cli_create_volume(const struct sample_cli *cli,
                             const fsp_fs_interface_t *interface,
                             void *fs_context, fsp_fs_t **fs_out)
{
    fsp_fs_t *fs = NULL;
    int err;

    *fs_out = NULL;
    err = fsp_fs_create(&cli->volume, interface, fs_context, &fs);
    if (err < 0) {
        sample_cli_report(cli, NULL, "cannot create the volume", err);
        goto out;
    }
    fsp_fs_set_debug(fs, cli->debug);
    handle_signals(fs);
    *fs_out = fs;
out:
    return err;
}

int sample_cli_mount(const struct sample_cli *cli, fsp_fs_t *fs)
{
    int err = fsp_fs_mount(fs, cli->mountpoint);

    if (err < 0)
        sample_cli_report(cli, fs, cli->mountpoint, err);
    return err;
}

int sample_cli_start(const struct sample_cli *cli, fsp_fs_t *fs)
{
    int err = fsp_fs_start(fs, cli->threads);

    if (err < 0)
        sample_cli_report(cli, fs, "cannot start", err);
    return err;
}

int sample_cli_wait(const struct sample_cli *cli, fsp_fs_t *fs)
{
    int err = fsp_fs_wait(fs);

    if (err < 0)
        sample_cli_message(cli, "connection to the kernel lost: %s",
                           strerror(-err));
    return err;
}

int sample_cli_serve(const struct sample_cli *cli, fsp_fs_t *fs, bool *ready)
{
    int err;

    *ready = false;
    err = sample_cli_mount(cli, fs);
    if (err < 0)
        return err;
    err = sample_cli_start(cli, fs);
    if (err < 0)
        return err;
    fsp_daemon_ready(0); /* the parent of fsp_daemonize() exits 0 now */
    *ready = true;
    return sample_cli_wait(cli, fs);
}

void sample_cli_delete_volume(const struct sample_cli *cli, fsp_fs_t *fs,
                              bool ready)
{
    (void)cli;
    if (!ready)
        fsp_daemon_ready(1);
    handle_signals(NULL); /* before the volume goes away */
    if (fs)
        fsp_fs_delete(fs); /* closes what is still open */
    if (in_background) {
        fsp_set_log_handler(NULL, NULL);
        closelog();
        in_background = false;
    }
}
