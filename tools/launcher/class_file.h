/**
 * @file class_file.h
 * File system classes: parsing and validating /etc/fsp/classes.d/NAME.conf.
 *
 * A class says how to start one kind of file system: which executable,
 * with which arguments, as whom, who may start and stop it, and whether
 * a crashed instance is restarted. fsp-launcherd, the mount helper
 * mount.fsp and `fsptool doctor` all read classes through this library,
 * so all three judge a class file the same way and word its problems the
 * same way.
 *
 * The file format: one "key = value" per line; blank lines and lines
 * starting with '#' are ignored; blanks around key and value are
 * dropped. The class is named after the file: NAME.conf is class NAME
 * (letters, digits, '_', '-', '.' only; fstab types are fsp.NAME).
 *
 *   executable        absolute path of the file system program (required)
 *   arguments         its arguments, split at blanks; "..." quotes a word
 *                     with blanks. Substitutions: %1..%9 the arguments of
 *                     the start request (for mount -t: %1 is the source),
 *                     %u the caller's user name, %m the mount point, %%
 *                     a single '%'.
 *   mountpoint        where the file system mounts, as a template with
 *                     %1..%9, %u, %% (not %m); default "%1".
 *   run_as            root (default), caller, or a user name.
 *   allow             users and @groups who may start and stop instances,
 *                     separated by blanks or commas; root always may.
 *                     Default: root only.
 *   recovery          no (default) or restart: restart a crashed instance.
 *   recovery_limit    restarts at most this many times in a row (default 5).
 *   recovery_delay_ms the first restart waits this long; each further one
 *                     twice as long, at most 60 s (default 1000).
 *   start_timeout_ms  how long a start may take to mount (default 10000).
 *   stop_timeout_ms   SIGTERM to SIGKILL (default 5000).
 *   working_directory absolute directory the program runs in (default /).
 *   environment       NAME=VALUE, added to the program's environment; the
 *                     key may repeat.
 *
 * Safety: a class runs code, as root by default. The class file and the
 * executable must be owned by root (or by the user the checking program
 * runs as) and be writable by nobody else, and so must every directory
 * above the executable (a sticky directory such as /tmp excepted).
 * Otherwise the class is refused.
 *
 * Messages: every problem is reported as one line
 *   "FILE:LINE: what is wrong; how to fix it"
 * LINE is the line of the key at fault; it is 0 for a problem of the whole
 * file (its owner or mode, its name, a missing executable).
 */
#ifndef FSP_CLASS_FILE_H
#define FSP_CLASS_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/** Where classes live unless told otherwise. */
#define FSP_CLASS_DIR_DEFAULT "/etc/fsp/classes.d"

/** Longest class name and longest value of a key. */
#define FSP_CLASS_NAME_MAX 64
#define FSP_CLASS_VALUE_MAX 1024
/** At most this many arguments, environment entries and allow entries. */
#define FSP_CLASS_LIST_MAX 64

/** Who the file system runs as. */
enum fsp_class_run_as {
    FSP_CLASS_RUN_AS_ROOT,
    FSP_CLASS_RUN_AS_CALLER,
    FSP_CLASS_RUN_AS_USER, /* run_as_user names the user */
};

/** One parsed, valid class. Strings are owned by the struct. */
struct fsp_class {
    char name[FSP_CLASS_NAME_MAX + 1];
    char *path;              /**< the class file */
    char *executable;
    char *arguments[FSP_CLASS_LIST_MAX]; /**< word templates */
    size_t argument_count;
    char *mountpoint;        /**< a template */
    enum fsp_class_run_as run_as;
    char *run_as_user;       /**< for FSP_CLASS_RUN_AS_USER */
    char *allow[FSP_CLASS_LIST_MAX]; /**< "user" or "@group" */
    size_t allow_count;
    bool recovery;
    unsigned recovery_limit;
    unsigned recovery_delay_ms;
    unsigned start_timeout_ms;
    unsigned stop_timeout_ms;
    char *working_directory;
    char *environment[FSP_CLASS_LIST_MAX]; /**< "NAME=VALUE" */
    size_t environment_count;
};

/**
 * Receives one problem, formatted "FILE:LINE: what; how to fix it"
 * (no trailing newline).
 */
typedef void fsp_class_report_fn(void *arg, const char *message);

/**
 * Reads and validates one class file.
 *
 * @param path    the class file, NAME.conf.
 * @param report  called once per problem found (all are reported, not
 *                just the first); may be NULL.
 * @param class_out  receives the class, to free with fsp_class_free();
 *                   NULL unless 0 is returned.
 * @return 0; -EINVAL if the class is broken; -ENOENT if there is no
 *         such file; other -errno if it cannot be read. Every failure is
 *         reported.
 */
int fsp_class_load(const char *path, fsp_class_report_fn *report,
                   void *arg, struct fsp_class **class_out);

/**
 * fsp_class_load() of DIR/NAME.conf. A name that cannot be a class
 * (empty, '/', too long) gives -EINVAL, reported.
 */
int fsp_class_find(const char *dir, const char *name,
                   fsp_class_report_fn *report, void *arg,
                   struct fsp_class **class_out);

/** Frees a class; NULL is fine. */
void fsp_class_free(struct fsp_class *class_);

/**
 * Checks every NAME.conf of a directory (other files are ignored), in
 * name order, reporting each problem.
 *
 * @return the number of broken classes (0 if all are good or there are
 *         none), or -errno if the directory cannot be read.
 */
int fsp_class_check_dir(const char *dir, fsp_class_report_fn *report,
                        void *arg);

/** What a template's substitutions stand for. */
struct fsp_class_subst {
    const char *const *args; /**< %1..%9 */
    size_t arg_count;
    const char *user;        /**< %u */
    const char *mountpoint;  /**< %m, NULL where not allowed */
};

/**
 * Expands one template.
 *
 * @param out      receives a malloc'ed string; NULL on failure.
 * @param message  on -EINVAL, receives what is wrong (e.g. "argument %3
 *                 was not given"); may be NULL.
 * @param message_size  size of message.
 * @return 0; -EINVAL if the template refers to something not given;
 *         -ENOMEM.
 */
int fsp_class_expand(const char *template_, const struct fsp_class_subst *subst,
                     char **out, char *message, size_t message_size);

/**
 * The command line of an instance: executable, then each expanded
 * argument. NULL-terminated, each string and the array malloc'ed; free
 * with fsp_class_free_argv().
 *
 * @param extra   strings inserted right after the executable (e.g. "-f"),
 *                extra_count of them.
 * @return 0, -EINVAL (message says why) or -ENOMEM.
 */
int fsp_class_build_argv(const struct fsp_class *class_,
                         const struct fsp_class_subst *subst,
                         const char *const *extra, size_t extra_count,
                         char ***argv_out, char *message, size_t message_size);

/** Frees what fsp_class_build_argv() made; NULL is fine. */
void fsp_class_free_argv(char **argv);

/**
 * Whether the user uid (primary group gid) may start and stop instances
 * of the class: root always; others if named in allow, by user name or
 * as a member of an @group.
 */
bool fsp_class_allows(const struct fsp_class *class_, uid_t uid, gid_t gid);

#endif
