/*
 * channel.h - layer 1: how requests arrive and replies leave.
 *
 * A channel belongs to one worker thread. The /dev/fuse kind reads
 * requests with read(2) from a cloned descriptor and writes replies with
 * writev(2) to the same one; the io_uring kind (channel_uring.c) fetches
 * requests from ring entries and commits replies into them. The dispatcher
 * sees only this interface, so a new kind slots in without touching the
 * layers above.
 */
#ifndef FSP_CHANNEL_H
#define FSP_CHANNEL_H

#include <stddef.h>
#include <stdint.h>
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
     * connection aborted (stop), -ESHUTDOWN when this channel will carry
     * nothing (io_uring was not negotiated: the worker ends, the volume goes
     * on), or another -errno on failure (stop).
     */
    ssize_t (*receive)(struct fsp_channel *ch, void **buf);

    /*
     * The channel the reply to the request last received goes to, if not
     * @ch itself (NULL op: @ch). An io_uring queue answers each request in
     * the ring entry it came in. Called by the channel's own worker.
     */
    struct fsp_channel *(*reply_channel)(struct fsp_channel *ch);

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
     * later (FSP_PENDING) and still points into it. On success *buf holds
     * the request's bytes from its header on and the channel carries on
     * with a fresh buffer: the /dev/fuse channel hands over its buffer
     * itself (same address), the io_uring channel a copy (its entry is
     * re-armed by the reply, maybe an early EINTR, while the file system may
     * still read the data), so the caller re-points what it decoded by the
     * difference between *buf and the request's header;
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

/*
 * The io_uring channel (channel_uring.c): one queue per possible CPU, each
 * a ring with several entries, served by one worker pinned to that CPU.
 *
 * The rings may register only after INIT is answered, and only if INIT
 * negotiated FUSE_OVER_IO_URING: the queues wait at a gate until then.
 */
struct fsp_uring_gate;

int fsp_uring_gate_create(struct fsp_uring_gate **pg);
/* INIT was answered: @open if it negotiated FUSE_OVER_IO_URING. A queue
 * still waiting then registers its entries, or ends (-ESHUTDOWN). */
void fsp_uring_gate_decide(struct fsp_uring_gate *g, int open);
/* The volume stops: waits end, and a queue whose ring the kernel never
 * tears down gives up (-ENODEV) instead of waiting forever. */
void fsp_uring_gate_stop(struct fsp_uring_gate *g);
void fsp_uring_gate_free(struct fsp_uring_gate *g);

struct fsp_uring_config {
    int fuse_fd;                /* any descriptor of the connection */
    unsigned qid;               /* queue index = the CPU it serves */
    unsigned entries;           /* ring entries (requests in flight) */
    size_t payload_size;        /* >= the kernel's max payload */
    struct fsp_uring_gate *gate;
    /* Counts each request received through the ring (may be NULL). */
    _Atomic uint64_t *requests;
    /* A line for the volume's log (problems only). */
    void (*log)(void *ctx, const char *msg);
    void *log_ctx;
    /* The kernel refused a reply that send() had accepted (a commit
     * completed with an error, -ENOENT: the request was no longer
     * waiting): @body and @size are the reply's bytes after its out
     * header, @opcode its request's. Runs on the queue's worker. May be
     * NULL. */
    void (*undelivered)(void *ctx, uint32_t opcode, const void *body,
                        size_t size);
    void *undelivered_ctx;
};

/* Create one queue: its ring (disabled until its worker enables it, so
 * that the worker is the ring's only submitter), its entries' buffers and
 * its wake-up eventfd. Returns 0 or -errno (io_uring_setup's: -EPERM when
 * /proc/sys/kernel/io_uring_disabled forbids it, -ENOSYS, -ENOMEM...). */
int fsp_channel_uring_create(const struct fsp_uring_config *cfg,
                             struct fsp_channel **pch);

/*
 * The session's requests that are not replies (session.c), on the
 * session descriptor @session_fd (-1 once unmounted).
 *
 * fsp_session_notify: write one notification (unique 0) gathered from
 * @iov. Returns 0 or -errno; -ENOENT means the kernel had nothing cached
 * under that id or name.
 * fsp_session_backing_open: register @fd as a passthrough backing file.
 * Returns its id (> 0) or -errno (-EPERM without CAP_SYS_ADMIN).
 * fsp_session_backing_close: unregister @id. Returns 0 or -errno; 0 when
 * there is no descriptor any more.
 */
int fsp_session_notify(int session_fd, const struct iovec *iov, int iovcnt);
int fsp_session_backing_open(int session_fd, int fd);
int fsp_session_backing_close(int session_fd, int32_t id);

#endif /* FSP_CHANNEL_H */
