/**
 * @file sample_cli.h
 * The command line and run sequence the sample file systems share.
 *
 * memfs and ptfs take the same switches (-f, -d, -h, -o) and the same
 * volume options (timeouts, threads, fsname, subtype, allow_other, ro,
 * ...); each adds options of its own. This library parses what is common
 * and asks the sample, through a callback, about every -o name it does
 * not know. It also holds the steps of a run that read the same in every
 * sample: daemonize, create the volume (with SIGINT/SIGTERM/SIGHUP to
 * stop it and SIGUSR1 to flip its debug log), mount, start, wait, delete,
 * each one reporting its own failure on stderr.
 *
 * A sample's main() then reads:
 *
 *   sample_cli_init(&cli, "myfs", usage_text, operand_names, 1);
 *   cli.option = my_option; cli.option_context = &my_options;
 *   parse: sample_cli_parse(&cli, argc, argv)
 *   daemonize: sample_cli_daemonize(&cli)
 *   create: my_create(...), sample_cli_create_volume(&cli, ...)
 *   serve: sample_cli_serve(&cli, fs, &ready), which is
 *     mount: sample_cli_mount(&cli, fs)
 *     start: sample_cli_start(&cli, fs)
 *     ready: fsp_daemon_ready(0)
 *     wait: sample_cli_wait(&cli, fs)
 *   delete: sample_cli_delete_volume(&cli, fs, ready), my_delete(...)
 *
 * Every message starts with "PROGRAM: ", PROGRAM being the name given to
 * sample_cli_init(). The usage text is the sample's own. In the
 * background (no -f or -d) the messages, the sample's and its volume's
 * (fsp_set_log_handler()), go to syslog as well, as PROGRAM[PID] with
 * facility LOG_DAEMON: standard error is /dev/null once the parent has
 * exited, and the debug log switched on by SIGUSR1 or `fsptool debug`
 * arrives there at priority LOG_DEBUG.
 */
#ifndef FSP_SAMPLE_CLI_H
#define FSP_SAMPLE_CLI_H

#include <fsp/fsp.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * A sample's own -o option.
 *
 * @param context  sample_cli.option_context.
 * @param name     the option's name (the text before '=').
 * @param value    the text after '=' (a string of argv, the callback may
 *                 keep pointers into it and cut it up), or NULL if the
 *                 option came without '='.
 * @return 0 if taken; -ENOENT if name is not an option of the sample in
 *         this form (a flag given a value counts as unknown); any other
 *         -errno (normally -EINVAL) if the value is bad or, when value is
 *         NULL, missing.
 */
typedef int sample_cli_option_fn(void *context, const char *name,
                                 char *value);

/** The command line of a sample. */
struct sample_cli {
    /* Set by sample_cli_init(); option and option_context by the
     * sample before sample_cli_parse(). */
    const char *program;              /**< prefix of every message */
    const char *usage;                /**< printed by -h and on errors */
    const char *const *operand_names; /**< e.g. "mount point" */
    size_t operand_count;             /**< how many operands are needed */
    sample_cli_option_fn *option;     /**< the sample's options, or NULL */
    void *option_context;             /**< passed to option */

    /* Filled by sample_cli_parse() (volume starts from the defaults
     * sample_cli_init() sets; the sample may change them in between). */
    fsp_volume_params_t volume; /**< for fsp_fs_create() */
    unsigned threads;           /**< for fsp_fs_start(): 0 is automatic */
    bool foreground;            /**< -f or -d */
    bool debug;                 /**< -d: the debug log from the start */
    char **operands;            /**< operand_count strings of argv */
    const char *mountpoint;     /**< the last operand */
};

/**
 * Prepares *cli for sample_cli_parse(): clears it, sets the volume
 * parameters to fsp_volume_params_init()'s defaults with fs_name (the
 * type fuse.NAME) set to program and extended attributes on.
 *
 * @param program        the program's name, for messages and fs_name.
 * @param usage          the full usage text.
 * @param operand_names  what each operand is, in order ("source
 *                       directory", "mount point"); the last one is the
 *                       mount point. Used in "no ... given" messages.
 * @param operand_count  the number of operand_names, at least 1.
 */
void sample_cli_init(struct sample_cli *cli, const char *program,
                     const char *usage, const char *const *operand_names,
                     size_t operand_count);

/**
 * Parses argv: -f, -d, -h/--help, -o lists and exactly operand_count
 * operands. Common -o options:
 *   file_info_timeout=MS, dir_info_timeout=MS, negative_timeout=MS
 *                        (milliseconds or -1 for ever), threads=N (at
 *                        most 1024), fsname=NAME (volume.source),
 *                        subtype=NAME (volume.fs_name; empty: the
 *                        plain type fuse), allow_other,
 *                        [no_]default_permissions, [no_]auto_unmount,
 *                        nonempty, ro, rw, writeback_cache, keep_cache,
 *                        noacl (volume.posix_acl off), suid, nosuid,
 *                        dev, nodev (volume.allow_setuid,
 *                        volume.allow_devices), relatime, strictatime,
 *                        noatime (volume.atime), nodiratime.
 * Any other name goes to cli->option. Strings of argv are cut up in
 * place and pointed to from *cli, so argv must outlive the volume.
 *
 * @return 0 to run; 1 when the usage was printed for -h (exit with
 *         success); -EINVAL when something is wrong, already said on
 *         stderr (exit with failure).
 */
int sample_cli_parse(struct sample_cli *cli, int argc, char **argv);

/**
 * Value parsers for the samples' own options. Each returns true and sets
 * *out if text is valid; false otherwise, leaving *out alone.
 */
/** A decimal number (digits only, no sign) no greater than max. */
bool sample_cli_parse_number(const char *text, uint64_t max, uint64_t *out);
/** A decimal number of bytes with an optional suffix k, m, g or t
 * (either case; powers of 1024), no greater than UINT64_MAX. */
bool sample_cli_parse_bytes(const char *text, uint64_t *out);
/** Milliseconds, or -1 for FSP_TIMEOUT_INFINITE. */
bool sample_cli_parse_timeout(const char *text, int64_t *out);
/** An octal permission mode, at most 07777. */
bool sample_cli_parse_octal_mode(const char *text, uint32_t *out);

/**
 * Unless -f or -d was given, goes to the background with
 * fsp_daemonize(), opens syslog (openlog(PROGRAM, LOG_PID, LOG_DAEMON))
 * and makes every volume log to standard error and syslog
 * (fsp_set_log_handler()). Call it before any thread exists: fork()
 * keeps only the calling thread.
 *
 * @return 0, or -errno after saying "cannot run in the background".
 */
int sample_cli_daemonize(const struct sample_cli *cli);

/**
 * Says "PROGRAM: MESSAGE" on stderr and, in the background, MESSAGE to
 * syslog at LOG_ERR. printf-style.
 */
void sample_cli_message(const struct sample_cli *cli, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/**
 * Says on stderr (and syslog, see sample_cli_message()) why a step
 * failed: fsp's explanation for fs if it has
 * one ("PROGRAM: MESSAGE"), else "PROGRAM: WHAT: strerror(-err)".
 *
 * @param fs    the volume the step was about, or NULL.
 * @param what  the step or object, e.g. "cannot start".
 * @param err   the step's -errno.
 */
void sample_cli_report(const struct sample_cli *cli, fsp_fs_t *fs,
                       const char *what, int err);

/**
 * fsp_fs_create() with cli->volume, then the debug log as -d says and
 * the signals: SIGINT, SIGTERM and SIGHUP stop the volume (fsp_fs_stop),
 * SIGUSR1 flips its debug log. Only one volume per process can have the
 * signals.
 *
 * @param fs_out  receives the volume; NULL on failure.
 * @return 0, or -errno after a message.
 */
int sample_cli_create_volume(const struct sample_cli *cli,
                             const fsp_fs_interface_t *interface,
                             void *fs_context, fsp_fs_t **fs_out);

/** fsp_fs_mount() at cli->mountpoint. @return 0, or -errno after a
 * message. */
int sample_cli_mount(const struct sample_cli *cli, fsp_fs_t *fs);

/** fsp_fs_start() with cli->threads. @return 0, or -errno after a
 * message. */
int sample_cli_start(const struct sample_cli *cli, fsp_fs_t *fs);

/**
 * fsp_fs_wait(): until unmounted or stopped by a signal.
 *
 * @return 0, or -errno after saying "connection to the kernel lost".
 */
int sample_cli_wait(const struct sample_cli *cli, fsp_fs_t *fs);

/**
 * The middle of every run: sample_cli_mount(), sample_cli_start(),
 * fsp_daemon_ready(0), sample_cli_wait().
 *
 * @param ready  out: true once fsp_daemon_ready() was called, for
 *               sample_cli_delete_volume().
 * @return 0 after an orderly end, or -errno after a message.
 */
int sample_cli_serve(const struct sample_cli *cli, fsp_fs_t *fs, bool *ready);

/**
 * The end of a run, successful or not: tells the parent of
 * fsp_daemonize() of the failure unless ready (fsp_daemon_ready(1)),
 * gives the signals back their defaults, then deletes fs (may be NULL)
 * and, in the background, closes syslog. The sample frees its own file
 * system after this.
 */
void sample_cli_delete_volume(const struct sample_cli *cli, fsp_fs_t *fs,
                              bool ready);

#endif
