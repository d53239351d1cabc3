/*
 * mount_watcher.c - auto_unmount: the watcher, a small forked process that
 * waits for the daemon's end and then, if our mount is still there and on
 * top, aborts its connection and unmounts it: umount2() as root,
 * "fusermount3 -u -z" otherwise (fusermount3's own auto_unmount is not
 * used: see the top of mount.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "fusermount_find.h"
#include "mount_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

extern char **environ;

#define WATCHER_NAME          "fsp-unmount"

/* What the watcher does once the daemon is gone. */
struct watcher_plan {
    const char *path;           /* the canonical mount point */
    struct fsp_mount_id id;
    const char *helper;         /* fusermount3 for an ordinary user, or NULL */
    char *const *helper_argv;   /* "fusermount3 -u -z -- path" */
};

/* The watcher: a child that waits for the daemon's end and then unmounts.
 *
 * It blocks reading a pipe whose only write end the daemon holds (O_CLOEXEC,
 * so that programs the daemon runs do not inherit it). When the daemon exits
 * or is killed, the kernel closes that end and the read returns 0. If our
 * mount is still there, the watcher aborts the connection (when fusectl is
 * mounted; this also frees requests held by any process that inherited the
 * descriptor) and, if nothing was mounted over it since, lazily unmounts it.
 *
 * It holds nothing else: above all not /dev/fuse. A copy of the daemon's
 * /dev/fuse descriptor would keep the connection alive after the daemon's
 * death, and the mount would hang instead of failing. */
__attribute__((noreturn))
static void run_unmount_watcher(int pipe_fd, int null_fd,
                                const struct watcher_plan *plan)
{
    static const int ignored[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE,
                                   SIGTSTP, SIGTTIN, SIGTTOU, SIGUSR1,
                                   SIGUSR2 };
    struct sigaction ign = { .sa_handler = SIG_IGN };
    sigset_t none;
    size_t i;
    char byte;
    ssize_t n;

    if (!fsp_mount_place_child_fds(null_fd, null_fd, null_fd, pipe_fd))
        _exit(1);
    for (i = 0; i < sizeof ignored / sizeof ignored[0]; i++)
        sigaction(ignored[i], &ign, NULL);
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* Leave the daemon's session and process group: a Ctrl-C, a terminal
     * hangup or a kill of the whole group (timeout(1), a test harness, job
     * control) must end the daemon, not its watcher, or the mount stays. */
    setsid();
    if (chdir("/") < 0) {
        /* only to pin no file system; the watcher works from anywhere */
    }
    prctl(PR_SET_NAME, WATCHER_NAME, 0, 0, 0);

    do {
        n = read(3, &byte, 1);
        if (n == 1 && byte == WATCHER_DONE)
            _exit(0);                   /* the daemon saw to its mount */
    } while (n > 0 || (n < 0 && errno == EINTR));
    if (n < 0)
        _exit(1);                       /* cannot tell: leave the mount */

    /* The daemon is gone without a word: it died. */
    switch (fsp_our_mount_is_on_top(plan->path, &plan->id)) {
    case 1:
        fsp_mount_abort_connection(plan->id.conn_id);
        if (plan->helper) {
            close(3);
            execve(plan->helper, plan->helper_argv, environ);
        } else
            umount2(plan->path, MNT_DETACH);
        break;
    case -EBUSY:                        /* covered: abort, leave the path */
        fsp_mount_abort_connection(plan->id.conn_id);
        break;
    default:                            /* gone already */
        break;
    }
    _exit(0);
}

int fsp_mount_start_unmount_watcher(struct fsp_mount_request *rq,
                                    struct fsp_mount *m)
{
    char helper[PATH_MAX];
    char *argv[] = { FUSERMOUNT, "-u", "-z", "--", m->mountpoint, NULL };
    struct watcher_plan plan = {
        .path = m->mountpoint,
        .id = m->id,
        .helper = m->via_fusermount ? helper : NULL,
        .helper_argv = argv,
    };
    int pipefd[2], null_fd, e;
    pid_t pid;

    if (m->via_fusermount && !fsp_fusermount_find(helper, sizeof helper, X_OK))
        return fail(rq, -ENOENT, FUSERMOUNT " not found (in PATH, /usr/bin "
                    "or /bin) for the auto-unmount watcher: install the fuse3 "
                    "package (apt-get install fuse3)");
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return fail(rq, -errno, "mount point %s: /dev/null cannot be opened "
                    "(%s) for the auto-unmount watcher: check /dev/null, or "
                    "turn auto_unmount off", rq->shown, strerror(errno));
    if (pipe2(pipefd, O_CLOEXEC) < 0) {
        e = errno;
        close(null_fd);
        return fail(rq, -e, "mount point %s: no pipe for the auto-unmount "
                    "watcher (%s): raise the open file limit (ulimit -n), or "
                    "turn auto_unmount off", rq->shown, strerror(e));
    }
    pid = fork();
    if (pid == 0)
        run_unmount_watcher(pipefd[0], null_fd, &plan);
    e = errno;
    close(pipefd[0]);
    close(null_fd);
    if (pid < 0) {
        close(pipefd[1]);
        return fail(rq, -e, "mount point %s: the auto-unmount watcher cannot "
                    "be started (fork: %s): raise the process limit "
                    "(ulimit -u), or turn auto_unmount off", rq->shown,
                    strerror(e));
    }
    m->watcher_pid = pid;
    m->watcher_fd = pipefd[1];
    return 0;
}
