/*
 * peer.h - child processes that take steps at the parent's word, for the
 * cases about locks between processes (semantics.c, locks.c): the child
 * reports each step on one pipe and waits for the parent on another, all
 * with time limits; and fcntl(2) lock shorthands.
 */
#ifndef FSP_TEST_PEER_H
#define FSP_TEST_PEER_H

#include <fcntl.h>
#include <stdbool.h>
#include <sys/types.h>

/* A child process and the two pipes that pace it: the parent writes to
 * `go` to let the child take its next step, the child writes to `done`
 * when it has taken one. */
struct peer {
    pid_t pid;
    int go[2];
    int done[2];
};

/* Wait (at most @p timeout_s) for one byte on @p fd; false on timeout/EOF. */
bool wait_byte(int fd, double timeout_s);
/* True if a byte is waiting on @p fd right now. */
bool byte_ready(int fd);
void send_byte(int fd);

/* In the child: report a step done, then wait for the parent's go. */
void peer_step(struct peer *p);
/* Fork a child that runs fn(p, arg) and exits. */
void peer_start(struct peer *p, void (*fn)(struct peer *, void *), void *arg);
/* In the parent: wait for the child's next "done" (10 s at most). */
bool peer_wait(struct peer *p);
/* In the parent: let the child go on, and reap it once it exits. */
void peer_finish(struct peer *p);

/* fcntl(fd, cmd) with a lock of @p type on [start, start+len). */
int set_lock(int fd, int cmd, short type, off_t start, off_t len);
/* F_GETLK (or F_OFD_GETLK) for a lock of @p type on [start, start+len). */
struct flock get_lock(int fd, int cmd, short type, off_t start, off_t len);

#endif /* FSP_TEST_PEER_H */
