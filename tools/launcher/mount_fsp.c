/**
 * @file mount_fsp.c
 * mount.fsp: the mount(8) helper for file system types fsp.NAME.
 *
 * `mount -t fsp.memfs SOURCE DIR -o OPTS` (or the same in /etc/fstab)
 * makes mount(8) run, as it does mount.fuse3 for fuse.sshfs:
 *   /sbin/mount.fsp SOURCE DIR [-sfnv] [-N NS] [-o OPTS] -t fsp.memfs
 * The helper reads the class NAME (FSP_CLASS_DIR, default
 * /etc/fsp/classes.d, NAME.conf), refuses it with the class file's
 * problems if broken, and runs its executable in the background mode
 * (no -f) as:  EXECUTABLE [-o OPTS] ARGUMENTS  with %1 = SOURCE and
 * %m = DIR. The file system daemonizes and exits only once its mount is
 * ready (or failed), so mount(8) returns when DIR is usable. umount(8)
 * ends the FUSE connection, and with it the file system.
 *
 * Options only mount(8) cares about (defaults, noauto, user, nofail,
 * _netdev, x-*, ...) are not passed on. Exit status: 0, 1 for a bad
 * command line, 32 for a failed mount (mount(8)'s own codes).
 */
#define _GNU_SOURCE

#include "class_file.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define EXIT_USAGE 1
#define EXIT_MOUNT_FAILED 32

static const char usage[] =
    "usage: mount.fsp SOURCE DIR [-sfnv] [-N NS] [-o OPTIONS] -t fsp.NAME\n"
    "       mount.fsp -h|--help\n"
    "  (run by mount -t fsp.NAME; the class is "
    "$FSP_CLASS_DIR/NAME.conf,\n"
    "   default " FSP_CLASS_DIR_DEFAULT "/NAME.conf)\n";

/* Options for mount(8) and fstab, not for the file system. The mount
 * flags an fsp file system sets itself (suid, nosuid, dev, nodev,
 * relatime, strictatime, noatime, nodiratime) go through to it; see
 * filter_options() for dev and suid. */
static bool is_mount_only_option(const char *option)
{
    static const char *const names[] = {
        "defaults", "auto",   "noauto", "user",  "nouser", "users",
        "owner",    "group",  "nofail", "_netdev", "exec", "noexec",
        "async",    "atime",  "loud",   "silent",
    };
    size_t i;

    if (strncmp(option, "x-", 2) == 0 || strncmp(option, "X-", 2) == 0 ||
        strncmp(option, "comment=", 8) == 0)
        return true;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(option, names[i]) == 0)
            return true;
    return false;
}

/* Appends @option to the comma-separated list @out of @size bytes that
 * holds *@len; false when it does not fit. */
static bool append_option(char *out, size_t size, size_t *len,
                          const char *option)
{
    int n = snprintf(out + *len, size - *len, "%s%s", *len ? "," : "",
                     option);

    if (n < 0 || (size_t)n >= size - *len) {
        out[*len] = '\0';
        return false;
    }
    *len += (size_t)n;
    return true;
}

/*
 * The options for the file system, comma-separated; "" if none.
 *
 * mount(8) hands a helper only the options that differ from its
 * defaults: "mount -o dev,suid" arrives as "rw", "mount -o nodev" as
 * "rw,nodev" (a "user" mount of fstab arrives with nosuid and nodev
 * added). So for a file system that runs as root, which may grant them,
 * the absence of nodev and nosuid means dev and suid, as on every kernel
 * file system mount(8) mounts; @root_daemon says whether to add them.
 */
static void filter_options(char *options, bool root_daemon, char *out,
                           size_t size)
{
    char *saveptr = NULL, *option;
    bool nodev = false, nosuid = false;
    size_t len = 0;

    out[0] = '\0';
    for (option = options ? strtok_r(options, ",", &saveptr) : NULL; option;
         option = strtok_r(NULL, ",", &saveptr)) {
        if (is_mount_only_option(option))
            continue;
        nodev = nodev || strcmp(option, "nodev") == 0;
        nosuid = nosuid || strcmp(option, "nosuid") == 0;
        if (!append_option(out, size, &len, option))
            return;
    }
    if (root_daemon && !nodev && !append_option(out, size, &len, "dev"))
        return;
    if (root_daemon && !nosuid)
        append_option(out, size, &len, "suid");
}

/* Whether class @c runs its file system as root when mount.fsp does. */
static bool runs_as_root(const struct fsp_class *c)
{
    if (c->run_as == FSP_CLASS_RUN_AS_USER)
        return false;
    return geteuid() == 0;
}

static void print_problem(void *arg, const char *message)
{
    (void)arg;
    fprintf(stderr, "%s\n", message);
}

/* NAME of -t fsp.NAME, or of a helper installed as mount.fsp.NAME. */
static const char *class_name(const char *type, const char *program)
{
    const char *base = strrchr(program, '/');

    base = base ? base + 1 : program;
    if (type && strncmp(type, "fsp.", 4) == 0 && type[4])
        return type + 4;
    if (!type && strncmp(base, "mount.fsp.", 10) == 0 && base[10])
        return base + 10;
    return NULL;
}

/* In the child: the class's identity, directory and environment. */
static void run_child(const struct fsp_class *c, char **argv)
{
    struct passwd *pw = NULL;
    size_t i;

    if (c->run_as == FSP_CLASS_RUN_AS_USER) {
        pw = getpwnam(c->run_as_user);
        if (!pw || initgroups(pw->pw_name, pw->pw_gid) < 0 ||
            setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
            fprintf(stderr, "mount.fsp: cannot run as %s: %s\n",
                    c->run_as_user, strerror(errno));
            _exit(EXIT_MOUNT_FAILED);
        }
    }
    for (i = 0; i < c->environment_count; i++)
        putenv(c->environment[i]);
    if (chdir(c->working_directory) < 0) {
        fprintf(stderr, "mount.fsp: cannot enter %s: %s\n",
                c->working_directory, strerror(errno));
        _exit(EXIT_MOUNT_FAILED);
    }
    execv(argv[0], argv);
    fprintf(stderr, "mount.fsp: cannot run %s: %s\n", argv[0],
            strerror(errno));
    _exit(EXIT_MOUNT_FAILED);
}

/* Runs argv and waits: the file system returns once mounted. */
static int run(const struct fsp_class *c, char **argv)
{
    int status;
    pid_t pid;

    fflush(NULL);
    pid = fork();
    if (pid < 0) {
        fprintf(stderr, "mount.fsp: cannot fork: %s\n", strerror(errno));
        return EXIT_MOUNT_FAILED;
    }
    if (pid == 0)
        run_child(c, argv);
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            return EXIT_MOUNT_FAILED;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "mount.fsp: %s did not mount (%s %d)\n", argv[0],
            WIFEXITED(status) ? "exit status" : "signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return EXIT_MOUNT_FAILED;
}

int main(int argc, char **argv)
{
    const char *type = NULL, *name, *dir, *source, *target;
    char *options = NULL, fs_options[FSP_CLASS_VALUE_MAX];
    const char *extra[2];
    struct fsp_class *c = NULL;
    struct fsp_class_subst subst = {0};
    struct passwd *pw;
    char message[512], **fs_argv = NULL;
    bool fake = false, verbose = false;
    int opt, status = EXIT_MOUNT_FAILED, i;
    static const struct option long_options[] = {
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };

    while ((opt = getopt_long(argc, argv, "sfnvN:o:t:h", long_options,
                              NULL)) != -1) {
        switch (opt) {
        case 'f':
            fake = true;
            break;
        case 'v':
            verbose = true;
            break;
        case 's':
        case 'n':
        case 'N':
            break;
        case 'o':
            options = optarg;
            break;
        case 't':
            type = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return 0;
        default:
            fputs(usage, stderr);
            return EXIT_USAGE;
        }
    }
    name = class_name(type, argv[0]);
    if (argc - optind != 2 || !name) {
        fputs(usage, stderr);
        return EXIT_USAGE;
    }
    source = argv[optind];
    target = argv[optind + 1];
    dir = getenv("FSP_CLASS_DIR");
    if (!dir || !*dir)
        dir = FSP_CLASS_DIR_DEFAULT;
    if (fsp_class_find(dir, name, print_problem, NULL, &c) < 0) {
        fprintf(stderr, "mount.fsp: class %s cannot be used (see above)\n",
                name);
        goto out;
    }
    pw = getpwuid(getuid());
    subst.args = &source;
    subst.arg_count = 1;
    subst.user = pw ? pw->pw_name : "root";
    subst.mountpoint = target;
    filter_options(options, runs_as_root(c), fs_options, sizeof fs_options);
    extra[0] = "-o";
    extra[1] = fs_options;
    if (fsp_class_build_argv(c, &subst, extra, fs_options[0] ? 2 : 0,
                             &fs_argv, message, sizeof message) < 0) {
        fprintf(stderr, "mount.fsp: %s: %s\n", c->path, message);
        goto out;
    }
    if (verbose || fake) {
        fprintf(stderr, "mount.fsp:");
        for (i = 0; fs_argv[i]; i++)
            fprintf(stderr, " %s", fs_argv[i]);
        fputc('\n', stderr);
    }
    status = fake ? 0 : run(c, fs_argv);
out:
    fsp_class_free_argv(fs_argv);
    fsp_class_free(c);
    return status;
}
