/*
 * daemon.c - fsp_daemonize() / fsp_daemon_ready(): run in the background
 * and let the parent's exit status say whether the file system came up.
 *
 * The parent forks and waits on a pipe; the child does the work (mount,
 * start) and writes one status byte when it is ready or has failed. So
 * `memfs /mnt && ls /mnt` works: exit 0 means the mount is usable.
 *
 * The pipe's write end is the one piece of process-wide state in fsp: a
 * process daemonizes once.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "fs_internal.h"

static int ready_fd = -1; /* child's end of the readiness pipe */

FSP_API int fsp_daemonize(void)
{
    int fds[2];
    pid_t pid;
    unsigned char status = 1;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return -errno;
    pid = fork();
    if (pid < 0) {
        int err = -errno;

        close(fds[0]);
        close(fds[1]);
        return err;
    }
    if (pid > 0) {
        ssize_t n;

        close(fds[1]);
        do
            n = read(fds[0], &status, 1);
        while (n < 0 && errno == EINTR);
        /* EOF without a status: the child died before it was ready. */
        _exit(n == 1 ? status : 1);
    }
    close(fds[0]);
    ready_fd = fds[1];
    setsid();
    return 0;
}

FSP_API void fsp_daemon_ready(int status)
{
    unsigned char b = (unsigned char)(status > 255 ? 255 : status);
    int null_fd;

    if (ready_fd < 0)
        return;
    if (status == 0) {
        /* Detach from the terminal before the parent returns, so that
         * nothing the daemon prints later lands in the user's shell. */
        if (chdir("/") < 0) {
            /* harmless: paths are absolute */
        }
        null_fd = open("/dev/null", O_RDWR);
        if (null_fd >= 0) {
            dup2(null_fd, STDIN_FILENO);
            dup2(null_fd, STDOUT_FILENO);
            dup2(null_fd, STDERR_FILENO);
            if (null_fd > STDERR_FILENO)
                close(null_fd);
        }
    }
    if (write(ready_fd, &b, 1) < 0) {
        /* the parent is gone; nothing to tell */
    }
    close(ready_fd);
    ready_fd = -1;
}
