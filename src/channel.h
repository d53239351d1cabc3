/*
 * channel.h - layer 1: how requests arrive and replies leave.
 *
 * A channel belongs to one worker thread. The /dev/fuse kind reads
 * requests with read(2) from a cloned descriptor and writes replies with
 * writev(2) to the same one; an io_uring kind (later) fetches requests from
 * ring entries and commits replies into them. The dispatcher sees only this
 * interface, so a new kind slots in without touching the layers above.
 */
#ifndef FSP_CHANNEL_H
#define FSP_CHANNEL_H

#include <stddef.h>
#include <sys/types.h>
#include <sys/uio.h>

struct fsp_channel;

struct fsp_channel_ops {
    /* Short name shown by fsptool: "dev", "io_uring". */
    const char *kind;

    /*
     * Wait for the next request. On success returns its length (> 0) and
     * points *buf at it; the buffer stays valid until the next receive()
     * on this channel. Returns -EINTR or -EAGAIN to be called again,
     * -ENOENT when the request was interrupted before it could be read
     * (also: call again), -ENODEV once the file system is unmounted or the
     * connection aborted (stop), or another -errno on failure (stop).
     */
    ssize_t (*receive)(struct fsp_channel *ch, void **buf);

    /*
     * Send one reply (or notification), gathered from @iov. Returns 0,
     * -ENOENT if the kernel no longer waits for that request (it was
     * interrupted), or another -errno. A reply must be sent on the channel
     * its request was received on (each cloned /dev/fuse descriptor has its
     * own queue of requests awaiting replies), but from any thread: a
     * request completed later (FSP_PENDING) is answered by whichever thread
     * completes it, while the channel's worker goes on receiving.
     */
    int (*send)(struct fsp_channel *ch, const struct iovec *iov, int iovcnt);

    /*
     * Take the buffer of the request last received away from the channel,
     * so that it outlives the next receive(): its request will be answered
     * later (FSP_PENDING) and still points into it. On success *buf is an
     * opaque token for it and the channel carries on with a fresh buffer;
     * the caller gives the token back with free_detached() once the
     * request is answered, which may be after the channel is destroyed.
     * Returns 0, or -ENOMEM with nothing changed. Called only by the
     * channel's own worker, between two receive() calls.
     */
    int (*detach)(struct fsp_channel *ch, void **buf);

    /* Free a buffer detach() handed out. Needs no channel. */
    void (*free_detached)(void *buf);

    /* Free the channel and its buffer; closes a cloned descriptor. */
    void (*destroy)(struct fsp_channel *ch);
};

struct fsp_channel {
    const struct fsp_channel_ops *ops;
};

/*
 * Create a /dev/fuse channel for one worker. With @clone set, the channel
 * gets its own descriptor through FUSE_DEV_IOC_CLONE of @session_fd (its
 * own processing queue in the kernel); otherwise it uses @session_fd
 * itself and does not close it. @bufsize is the receive buffer's size:
 * at least max_write + one page.
 */
int fsp_channel_dev_create(int session_fd, int clone, size_t bufsize,
                           struct fsp_channel **pch);

#endif /* FSP_CHANNEL_H */
