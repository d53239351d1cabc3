/*
 * mount_child.c - the child processes of the mount code: a helper program
 * (fusermount3) started with default signals and only the descriptors it
 * is given, and children reaped within a bounded time. Everything a fork
 * child calls here is async-signal-safe (no malloc, no stdio), so other
 * threads may run meanwhile (see the top of mount.c).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

bool fsp_mount_reap_child(pid_t pid, int timeout_ms, int *status)
{
    int st = -1, waited;
    pid_t r;

    for (waited = 0;; waited += 10) {
        r = waitpid(pid, &st, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            if (status)
                *status = r == pid ? st : -1;
            return true;
        }
        if (waited >= timeout_ms)
            break;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    do
        r = waitpid(pid, &st, 0);
    while (r < 0 && errno == EINTR);
    if (status)
        *status = r == pid ? st : -1;
    return false;
}

static void close_from(int lowfd)
{
    struct rlimit rl;
    int fd, max = 65536;

    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < (rlim_t)max)
        max = (int)rl.rlim_cur;
    for (fd = lowfd; fd < max; fd++)
        close(fd);
}

bool fsp_mount_place_child_fds(int in, int out, int err, int extra)
{
    int src[4] = { in, out, err, extra };
    int n = extra >= 0 ? 4 : 3, i;

    /* Copy every source above the targets first, so that placing one
     * cannot overwrite another that happens to sit on a target number. */
    for (i = 0; i < n; i++) {
        src[i] = fcntl(src[i], F_DUPFD, 4);
        if (src[i] < 0)
            return false;
    }
    for (i = 0; i < n; i++)
        if (dup2(src[i], i) < 0)
            return false;
    close_from(n);
    return true;
}

static void reset_signals(void)
{
    struct sigaction sa = { .sa_handler = SIG_DFL };
    sigset_t none;
    int sig;

    for (sig = 1; sig < NSIG; sig++)
        sigaction(sig, &sa, NULL);      /* fails harmlessly for some */
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

pid_t fsp_mount_spawn_helper(const char *path, char *const argv[],
                             char *const envp[], int null_fd, int out_fd,
                             int comm_fd)
{
    pid_t pid = fork();

    if (pid < 0)
        return -errno;
    if (pid == 0) {
        char num[16];
        int n = 0, e, i;

        reset_signals();
        if (!fsp_mount_place_child_fds(null_fd, out_fd, out_fd, comm_fd))
            _exit(127);
        execve(path, argv, envp);
        e = errno;
        do {
            num[n++] = (char)('0' + e % 10);
            e /= 10;
        } while (e && n < (int)sizeof num);
        if (write(2, EXEC_FAILED_MARK, sizeof EXEC_FAILED_MARK - 1) > 0)
            for (i = n - 1; i >= 0; i--)
                if (write(2, &num[i], 1) < 0)
                    break;
        _exit(127);
    }
    return pid;
}
