/*
 * mount_fusermount.c - mounting as an ordinary user: fusermount3, the
 * setuid helper, is found, given its -o options and a socket, mounts, and
 * hands the /dev/fuse descriptor back over that socket as SCM_RIGHTS; and
 * unmounting through "fusermount3 -u -z". fusermount3's own auto_unmount
 * is not used (see the top of mount.c); what it says when it fails is
 * explained in mount_fusermount_errors.c.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "fusermount_find.h"
#include "mount_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define FUSE_COMMFD_ENV       "_FUSE_COMMFD"
#define FUSERMOUNT_TIMEOUT_MS 10000 /* a mount by fusermount3 takes a few ms */

int fsp_mount_run_fusermount_unmount(const char *path)
{
    char helper[PATH_MAX];
    char *argv[] = { FUSERMOUNT, "-u", "-z", "--", (char *)path, NULL };
    int null_fd, status;
    pid_t pid;

    if (!fsp_fusermount_find(helper, sizeof helper, X_OK))
        return -ENOENT;
    null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0)
        return -errno;
    pid = fsp_mount_spawn_helper(helper, argv, environ, null_fd, null_fd, -1);
    close(null_fd);
    if (pid < 0)
        return pid;
    if (!fsp_mount_reap_child(pid, REAP_TIMEOUT_MS, &status))
        return -ETIMEDOUT;
    if (status == -1)
        return 0;                       /* reaped by someone else */
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* fusermount3's -o argument. It splits options at commas but takes a
 * backslash-escaped comma (or backslash) inside fsname= and subtype=. */
static char *fusermount_options(const struct fsp_mount_request *rq)
{
    const struct fsp_mount_options *opt = rq->opt;
    size_t cap = 2 * strlen(rq->source) + strlen(rq->fs_name) + 200;
    char *s = malloc(cap), *p;
    const char *c;

    if (s == NULL)
        return NULL;
    p = s + sprintf(s, "fsname=");
    for (c = rq->source; *c; c++) {
        if (*c == ',' || *c == '\\')
            *p++ = '\\';
        *p++ = *c;
    }
    if (*rq->fs_name)                   /* none: the plain type fuse */
        p += sprintf(p, ",subtype=%s", rq->fs_name);
    if (opt->default_permissions)
        p += sprintf(p, ",default_permissions");
    if (opt->allow_other)
        p += sprintf(p, ",allow_other");
    if (opt->read_only)
        p += sprintf(p, ",ro");
    /* relatime is fusermount3's default too; and it makes an ordinary
     * user's mount nosuid and nodev itself. */
    if (opt->atime == FSP_MOUNT_NOATIME)
        p += sprintf(p, ",noatime");
    if (opt->atime == FSP_MOUNT_STRICTATIME)
        p += sprintf(p, ",strictatime");
    if (opt->nodiratime)
        p += sprintf(p, ",nodiratime");
    if (opt->max_read)
        sprintf(p, ",max_read=%u", opt->max_read);
    /* Not nonempty: fusermount3 3.x no longer knows it (and we checked).
     * Not auto_unmount: our watcher does it (see the top of mount.c). */
    return s;
}

/* Our environment with _FUSE_COMMFD=3, where the child finds its socket. */
static char **environment_with_commfd(void)
{
    static char commfd[] = FUSE_COMMFD_ENV "=3";
    size_t n = 0, k = 0, i;
    char **env;

    while (environ && environ[n])
        n++;
    env = calloc(n + 2, sizeof *env);
    if (env == NULL)
        return NULL;
    for (i = 0; i < n; i++)
        if (strncmp(environ[i], FUSE_COMMFD_ENV "=",
                    sizeof FUSE_COMMFD_ENV) != 0)
            env[k++] = environ[i];
    env[k] = commfd;
    return env;
}

/* Receives the /dev/fuse descriptor that fusermount3 sends as SCM_RIGHTS on
 * a one-byte message. Returns it, -EPIPE if fusermount3 ended without
 * sending one (it failed), or -errno. */
static int receive_fd(int sock)
{
    char byte;
    struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    struct msghdr msg = {
        .msg_iov = &iov, .msg_iovlen = 1,
        .msg_control = control.buf, .msg_controllen = sizeof control.buf,
    };
    struct cmsghdr *c;
    ssize_t n;
    int fd;

    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return -EPIPE;
    c = CMSG_FIRSTHDR(&msg);
    if (c == NULL || c->cmsg_level != SOL_SOCKET ||
        c->cmsg_type != SCM_RIGHTS || c->cmsg_len != CMSG_LEN(sizeof(int)))
        return -EPROTO;
    memcpy(&fd, CMSG_DATA(c), sizeof fd);
    return fd;
}

static bool wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    struct timespec start, now;
    int r, left = timeout_ms;

    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        r = poll(&p, 1, left);
        if (r != 0 && !(r < 0 && errno == EINTR))
            return true;                /* readable, hung up, or an error */
        clock_gettime(CLOCK_MONOTONIC, &now);
        left = timeout_ms - (int)((now.tv_sec - start.tv_sec) * 1000 +
                                  (now.tv_nsec - start.tv_nsec) / 1000000);
        if (r == 0 || left <= 0)
            return false;
    }
}

/* Reads what fusermount3 wrote, until it closes the pipe (bounded). */
static void read_helper_text(int fd, char *buf, size_t size)
{
    size_t len = 0;

    while (len + 1 < size && wait_readable(fd, REAP_TIMEOUT_MS)) {
        ssize_t n = read(fd, buf + len, size - 1 - len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
}

int fsp_mount_with_fusermount(struct fsp_mount_request *rq,
                              struct fsp_mount *m)
{
    char helper[PATH_MAX], text[HELPER_TEXT_MAX];
    char *opts = NULL, **envp = NULL;
    int sock[2] = { -1, -1 }, errpipe[2] = { -1, -1 }, null_fd = -1;
    int err = 0, fd, status;
    pid_t pid = 0;

    if (!fsp_fusermount_find(helper, sizeof helper, X_OK))
        return fail(rq, -ENOENT, FUSERMOUNT " not found (in PATH, /usr/bin "
                    "or /bin): install the fuse3 package (apt-get install "
                    "fuse3)");
    opts = fusermount_options(rq);
    envp = environment_with_commfd();
    if (opts == NULL || envp == NULL) {
        err = fail(rq, -ENOMEM, "mount point %s: out of memory", rq->shown);
        goto out;
    }
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock) < 0 ||
        pipe2(errpipe, O_CLOEXEC) < 0 ||
        (null_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) < 0) {
        err = fail(rq, -errno, "mount point %s: cannot set up the talk with "
                   "fusermount3 (%s): raise the open file limit (ulimit -n)",
                   rq->shown, strerror(errno));
        goto out;
    }

    {
        char *argv[] = { FUSERMOUNT, "-o", opts, "--", m->mountpoint, NULL };

        pid = fsp_mount_spawn_helper(helper, argv, envp, null_fd, errpipe[1],
                                     sock[1]);
    }
    close(sock[1]);
    sock[1] = -1;
    close(errpipe[1]);
    errpipe[1] = -1;
    if (pid < 0) {
        err = fail(rq, pid, "mount point %s: fusermount3 cannot be started "
                   "(fork: %s): raise the process limit (ulimit -u)",
                   rq->shown, strerror((int)-pid));
        pid = 0;
        goto out;
    }

    if (!wait_readable(sock[0], FUSERMOUNT_TIMEOUT_MS)) {
        fsp_mount_reap_child(pid, 0, NULL);
        pid = 0;
        /* Killed after mounting but before handing over the fd? */
        if (fsp_mount_find_connection_id(m->mountpoint, &m->id.conn_id) == 0)
            fsp_mount_run_fusermount_unmount(m->mountpoint);
        m->id.conn_id = 0;
        err = fail(rq, -ETIMEDOUT, "mount point %s: fusermount3 did not "
                   "answer within %d s: check that no hung FUSE mount lies "
                   "on the way to the mount point (grep fuse /proc/mounts)",
                   rq->shown, FUSERMOUNT_TIMEOUT_MS / 1000);
        goto out;
    }
    fd = receive_fd(sock[0]);
    if (fd < 0) {
        read_helper_text(errpipe[0], text, sizeof text);
        fsp_mount_reap_child(pid, REAP_TIMEOUT_MS, &status);
        pid = 0;
        err = fsp_mount_explain_fusermount_failure(rq, helper, text, status);
        goto out;
    }
    m->fd = fd;
    m->via_fusermount = true;
    /* it exits after sending */
    fsp_mount_reap_child(pid, REAP_TIMEOUT_MS, NULL);
    pid = 0;

    err = fsp_mount_identify(m->mountpoint, &m->id);
    if (err < 0) {
        fsp_mount_run_fusermount_unmount(m->mountpoint);
        err = fail(rq, -EIO, "mount point %s was mounted by fusermount3 but "
                   "does not appear as a FUSE mount in /proc/self/mountinfo "
                   "(%s): check that /proc belongs to this mount namespace",
                   rq->shown, strerror(-err));
    }

out:
    if (pid > 0)
        fsp_mount_reap_child(pid, 0, NULL);
    if (sock[0] >= 0)
        close(sock[0]);
    if (sock[1] >= 0)
        close(sock[1]);
    if (errpipe[0] >= 0)
        close(errpipe[0]);
    if (errpipe[1] >= 0)
        close(errpipe[1]);
    if (null_fd >= 0)
        close(null_fd);
    free(opts);
    free(envp);
    return err;
}
