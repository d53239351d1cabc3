/*
 * peer.c - child processes paced by the parent, and lock shorthands
 * (peer.h).
 */
#define _GNU_SOURCE
#include "peer.h"

#include "harness.h"

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

/* Wait (at most @p timeout_s) for one byte on @p fd. */
bool wait_byte(int fd, double timeout_s)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    char c;

    if (poll(&p, 1, (int)(timeout_s * 1000)) != 1)
        return false;
    return read(fd, &c, 1) == 1;
}

/* True if a byte is waiting on @p fd right now. */
bool byte_ready(int fd)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, 0) == 1;
}

void send_byte(int fd)
{
    if (write(fd, "x", 1) != 1)
        ADD_FAILURE("write to pipe: %s", expect_errname(errno));
}

/* In the child: report a step done, then wait for the parent's go. */
void peer_step(struct peer *p)
{
    send_byte(p->done[1]);
    if (!wait_byte(p->go[0], 20))
        ADD_FAILURE("child %d: no word from the parent within 20 s", (int)getpid());
}

/* Fork a child that runs fn(p, arg) and exits. */
void peer_start(struct peer *p, void (*fn)(struct peer *, void *), void *arg)
{
    ASSERT_OK(pipe2(p->go, O_CLOEXEC));
    ASSERT_OK(pipe2(p->done, O_CLOEXEC));
    fflush(stdout);
    fflush(stderr);
    p->pid = fork();
    if (p->pid < 0) {
        ADD_FAILURE("fork: %s", expect_errname(errno));
        expect_abort_case();
    }
    if (p->pid == 0) {
        close(p->go[1]);
        close(p->done[0]);
        fn(p, arg);
        _exit(0);
    }
    close(p->go[0]);
    close(p->done[1]);
}

/* In the parent: wait for the child's next "done" (10 s at most). */
bool peer_wait(struct peer *p)
{
    bool ok = wait_byte(p->done[0], 10);
    if (!ok)
        ADD_FAILURE("child %d did not report within 10 s", (int)p->pid);
    return ok;
}

/* In the parent: let the child go on, and reap it once it exits. */
void peer_finish(struct peer *p)
{
    int st = 0;

    send_byte(p->go[1]);
    close(p->go[1]);
    if (h_waitpid_timeout(p->pid, &st, 10) != p->pid) {
        ADD_FAILURE("child %d did not exit within 10 s", (int)p->pid);
        kill(p->pid, SIGKILL);
        h_waitpid_timeout(p->pid, &st, 5);
    } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        ADD_FAILURE("child %d ended with status 0x%x", (int)p->pid, st);
    }
    close(p->done[0]);
}

int set_lock(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
                        .l_start = start, .l_len = len };
    return fcntl(fd, cmd, &fl);
}

/* F_GETLK (or F_OFD_GETLK) for a lock of @p type on [start, start+len). */
struct flock get_lock(int fd, int cmd, short type, off_t start, off_t len)
{
    struct flock fl = { .l_type = type, .l_whence = SEEK_SET,
                        .l_start = start, .l_len = len };
    EXPECT_OK(fcntl(fd, cmd, &fl));
    return fl;
}

