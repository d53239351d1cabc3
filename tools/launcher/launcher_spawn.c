/**
 * @file launcher_spawn.c
 * Running one instance's process: its command line from the class, its
 * identity (run_as), environment, working directory and log file, then
 * fork and exec. Everything that can fail or allocate happens before
 * fork(), so the child only makes system calls.
 */
#define _GNU_SOURCE

#include "launcher_spawn.h"
#include "launcher_proc.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define GROUPS_MAX 256

/* Who the process runs as. */
struct identity {
    bool change; /* false: stay who the daemon is */
    uid_t uid;
    gid_t gid;
    gid_t groups[GROUPS_MAX];
    int group_count;
    char home[PATH_MAX];
    char user[64];
};

static int resolve_identity(const struct instance *in, struct identity *id,
                            char *message, size_t message_size)
{
    const struct fsp_class *c = in->class_;
    struct passwd *pw = NULL;

    memset(id, 0, sizeof *id);
    if (c->run_as == FSP_CLASS_RUN_AS_ROOT) {
        pw = getpwuid(geteuid());
    } else if (c->run_as == FSP_CLASS_RUN_AS_CALLER) {
        pw = getpwuid(in->caller.uid);
        id->change = true;
    } else {
        pw = getpwnam(c->run_as_user);
        id->change = true;
    }
    if (!pw) {
        snprintf(message, message_size, "the user to run as (run_as in %s) "
                 "does not exist", c->path);
        return -ESRCH;
    }
    id->uid = pw->pw_uid;
    id->gid = pw->pw_gid;
    snprintf(id->home, sizeof id->home, "%s", pw->pw_dir);
    snprintf(id->user, sizeof id->user, "%s", pw->pw_name);
    id->group_count = GROUPS_MAX;
    if (getgrouplist(pw->pw_name, pw->pw_gid, id->groups,
                     &id->group_count) < 0)
        id->group_count = 1; /* too many: the primary group only */
    return 0;
}

/* A clean environment: PATH, HOME, USER, LOGNAME, then the class's. */
static char **build_environment(const struct fsp_class *c,
                                const struct identity *id)
{
    size_t count = 4 + c->environment_count, i, n = 0;
    char **envp = calloc(count + 1, sizeof *envp);

    if (!envp)
        return NULL;
    if (asprintf(&envp[n++], "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
                             "/usr/bin:/sbin:/bin") < 0 ||
        asprintf(&envp[n++], "HOME=%s", id->home) < 0 ||
        asprintf(&envp[n++], "USER=%s", id->user) < 0 ||
        asprintf(&envp[n++], "LOGNAME=%s", id->user) < 0) {
        envp[n - 1] = NULL;
        fsp_class_free_argv(envp);
        return NULL;
    }
    for (i = 0; i < c->environment_count; i++) {
        envp[n] = strdup(c->environment[i]);
        if (!envp[n++]) {
            fsp_class_free_argv(envp);
            return NULL;
        }
    }
    return envp;
}

/* In the child: never returns. */
static void run_child(const struct instance *in, const struct identity *id,
                      char **argv, char **envp, int log_fd)
{
    sigset_t all;
    int null_fd;

    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    signal(SIGPIPE, SIG_DFL);
    setsid(); /* its own session: the daemon's signals are not its own */
    null_fd = open("/dev/null", O_RDONLY);
    if (null_fd >= 0)
        dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    if (id->change &&
        (setgroups((size_t)id->group_count, id->groups) < 0 ||
         setgid(id->gid) < 0 || setuid(id->uid) < 0)) {
        dprintf(2, "fsp-launcherd: cannot run as %s: %s\n", id->user,
                strerror(errno));
        _exit(126);
    }
    if (chdir(in->class_->working_directory) < 0) {
        dprintf(2, "fsp-launcherd: cannot enter %s: %s\n",
                in->class_->working_directory, strerror(errno));
        _exit(126);
    }
    execve(argv[0], argv, envp);
    dprintf(2, "fsp-launcherd: cannot run %s: %s\n", argv[0],
            strerror(errno));
    _exit(127);
}

int launcher_spawn(const struct instance *in, bool truncate_log,
                   pid_t *pid_out, char *message, size_t message_size)
{
    static const char *const foreground[] = {"-f"};
    struct fsp_class_subst subst = {
        .args = (const char *const *)in->args,
        .arg_count = in->arg_count,
        .user = in->caller.user,
        .mountpoint = in->mountpoint,
    };
    struct identity id;
    char **argv = NULL, **envp = NULL;
    int log_fd = -1, err;
    pid_t pid;

    *pid_out = 0;
    err = resolve_identity(in, &id, message, message_size);
    if (err < 0)
        goto out;
    err = fsp_class_build_argv(in->class_, &subst, foreground, 1, &argv,
                               message, message_size);
    if (err < 0)
        goto out;
    envp = build_environment(in->class_, &id);
    if (!envp) {
        err = -ENOMEM;
        snprintf(message, message_size, "out of memory");
        goto out;
    }
    log_fd = open(in->log_path,
                  O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW |
                      (truncate_log ? O_TRUNC : O_APPEND),
                  0600);
    if (log_fd < 0) {
        err = -errno;
        snprintf(message, message_size, "cannot open the log %s: %s",
                 in->log_path, strerror(-err));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        err = -errno;
        snprintf(message, message_size, "cannot fork: %s", strerror(-err));
        goto out;
    }
    if (pid == 0)
        run_child(in, &id, argv, envp, log_fd);
    *pid_out = pid;
out:
    if (log_fd >= 0)
        close(log_fd);
    fsp_class_free_argv(argv);
    fsp_class_free_argv(envp);
    return err;
}
