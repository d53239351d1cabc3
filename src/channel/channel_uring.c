/*
 * channel_uring.c - the io_uring channel: FUSE requests fetched from ring
 * entries, replies committed into them (FUSE_OVER_IO_URING, Linux 6.14+).
 *
 * Layout. One queue per possible CPU (the kernel routes a request to the
 * queue of the CPU its caller runs on, and uses the rings only once every
 * queue has an entry). A queue is a ring (SQE128: the fuse_uring_cmd_req
 * lives in the SQE's command area) and several entries; each entry
 * registers two buffers with FUSE_IO_URING_CMD_REGISTER: a header (struct
 * fuse_uring_req_header) and a payload. A request arrives as the
 * completion of its entry's command; the reply is written into the same
 * buffers and sent with COMMIT_AND_FETCH, which also re-arms the entry.
 *
 * Requests as the dispatcher expects them. The kernel splits a request
 * into the fuse_in_header (header.in_out), the opcode's struct
 * (header.op_in) and the rest (payload). Each payload buffer has a page of
 * room in front of it; the header and op struct are copied there, so the
 * request is one contiguous buffer, as read(2) from /dev/fuse gives it,
 * with no copy of the payload. The op struct's size is what in.len leaves
 * after the header and the payload.
 *
 * Threads. Each queue has one worker (pinned to its CPU) and the ring has
 * exactly one submitter, that worker: the ring is created disabled and the
 * worker enables it, so with IORING_SETUP_SINGLE_ISSUER and
 * DEFER_TASKRUN the kernel's work for the ring (copying the next request
 * into an entry) runs when the worker waits, never interrupting anyone
 * else. A request's reply, though, may be sent by any thread (FSP_PENDING:
 * fsp_fs_send_response(), or an EINTR from the worker that read the
 * INTERRUPT on /dev/fuse). The rules:
 *
 *   - An entry belongs to its request from the completion that delivered
 *     it until its reply: only the thread answering it touches its buffers
 *     (the dispatcher guarantees one reply per request). Each entry is its
 *     request's reply channel (reply_channel op), so send() knows it.
 *   - The worker's own replies are prepared as SQEs at once and submitted
 *     with its next wait, in one io_uring_enter for a whole batch.
 *   - Another thread writes the reply into the entry's buffers, pushes the
 *     entry onto the queue's mailbox (a lock-free stack: push with
 *     compare-and-swap, the worker takes all with one exchange) and writes
 *     the queue's eventfd. The worker keeps a read of that eventfd in the
 *     ring, so it wakes, and submits the commits itself. Submitting from a
 *     foreign thread would make that thread the entry's task: its exit
 *     would cancel the entry, and it would break SINGLE_ISSUER.
 *
 * A pending WRITE keeps its data: detach() copies the request out, since
 * an EINTR answered early re-arms the entry while the file system may
 * still read the data.
 *
 * Stopping. When the connection ends the kernel completes every armed
 * entry with -ENOTCONN: receive() says -ENODEV. An entry held by a pending
 * request has no command in the kernel; its commit later fails, which is
 * harmless. If a REGISTER is refused, the kernel itself falls back to
 * /dev/fuse for the whole connection: the queue ends (-ESHUTDOWN). Once
 * the volume stops (the gate's stop), a wait that sees nothing for a
 * while gives up, so neither a queue whose entries are all held by
 * pending requests nor a kernel that never tears an entry down can hang
 * the exit. Closing the ring cancels whatever is left.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <liburing.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "channel.h"
#include "fuse_abi.h"

#define PAGE 4096u
#define HEAD_ROOM PAGE          /* room for in_header + op struct */
#define STOP_WAIT_MS 250        /* after the stop: give up when idle */

/* ------------------------------------------------------------- gate */

enum { GATE_WAIT, GATE_OPEN, GATE_CLOSED };

struct fsp_uring_gate {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int state;
    bool stopped;
};

int fsp_uring_gate_create(struct fsp_uring_gate **pg)
{
    struct fsp_uring_gate *g = calloc(1, sizeof *g);

    *pg = NULL;
    if (!g)
        return -ENOMEM;
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cond, NULL);
    g->state = GATE_WAIT;
    *pg = g;
    return 0;
}

void fsp_uring_gate_decide(struct fsp_uring_gate *g, int open)
{
    pthread_mutex_lock(&g->lock);
    if (g->state == GATE_WAIT)
        g->state = open ? GATE_OPEN : GATE_CLOSED;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

void fsp_uring_gate_stop(struct fsp_uring_gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->stopped = true;
    if (g->state == GATE_WAIT)
        g->state = GATE_CLOSED;
    pthread_cond_broadcast(&g->cond);
    pthread_mutex_unlock(&g->lock);
}

void fsp_uring_gate_free(struct fsp_uring_gate *g)
{
    if (!g)
        return;
    pthread_cond_destroy(&g->cond);
    pthread_mutex_destroy(&g->lock);
    free(g);
}

static int gate_wait(struct fsp_uring_gate *g)
{
    int state;

    pthread_mutex_lock(&g->lock);
    while (g->state == GATE_WAIT)
        pthread_cond_wait(&g->cond, &g->lock);
    state = g->state;
    pthread_mutex_unlock(&g->lock);
    return state;
}

static bool gate_stopped(struct fsp_uring_gate *g)
{
    bool stopped;

    pthread_mutex_lock(&g->lock);
    stopped = g->stopped;
    pthread_mutex_unlock(&g->lock);
    return stopped;
}

/* ------------------------------------------------------- structures */

struct uring_queue;

struct uring_entry {
    struct fsp_channel base;        /* reply channel of its request */
    struct uring_queue *q;
    struct uring_entry *next;       /* mailbox link */
    struct fuse_uring_req_header header;
    struct iovec iov[2];            /* registered: header, payload */
    char *mem;                      /* HEAD_ROOM + payload */
    char *payload;
    char *req;                      /* the request last received */
    size_t req_len;
    uint32_t opcode;                /* of the request last received */
    size_t reply_size;              /* body of the reply last committed */
    uint64_t commit_id;
    bool registering;               /* its command is a REGISTER */
};

struct uring_queue {
    struct fsp_channel base;
    struct fsp_uring_config cfg;
    struct io_uring ring;
    bool ring_ok;
    bool started;
    int efd;                        /* other threads' commits wake us */
    uint64_t efd_value;             /* the eventfd read's buffer */
    _Atomic(struct uring_entry *) mailbox;
    struct uring_entry *entries;
    struct uring_entry *last;       /* entry of the request last received */
};

/* The queue whose worker this thread is, if any. */
static __thread struct uring_queue *current_queue;

static void qlog(struct uring_queue *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void qlog(struct uring_queue *q, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    int n;

    if (!q->cfg.log)
        return;
    n = snprintf(msg, sizeof msg, "io_uring queue %u: ", q->cfg.qid);
    va_start(ap, fmt);
    vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
    va_end(ap);
    q->cfg.log(q->cfg.log_ctx, msg);
}

/* ------------------------------------------------------------- SQEs */

static struct io_uring_sqe *get_sqe(struct uring_queue *q)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&q->ring);

    /* The SQ holds more than every entry plus the wake-up read, so this
     * only happens if the kernel has not consumed a previous batch. */
    while (!sqe) {
        io_uring_submit(&q->ring);
        sqe = io_uring_get_sqe(&q->ring);
    }
    return sqe;
}

static void prep_cmd(struct uring_queue *q, struct uring_entry *e,
                     uint32_t cmd_op)
{
    struct io_uring_sqe *sqe = get_sqe(q);
    struct fuse_uring_cmd_req *cmd;

    if (cmd_op == FUSE_IO_URING_CMD_REGISTER)
        io_uring_prep_rw(IORING_OP_URING_CMD, sqe, q->cfg.fuse_fd, e->iov,
                         2, 0);
    else
        io_uring_prep_rw(IORING_OP_URING_CMD, sqe, q->cfg.fuse_fd, NULL, 0,
                         0);
    /* cmd_op shares its union with the offset prep_rw just set. */
    sqe->cmd_op = cmd_op;
    cmd = (struct fuse_uring_cmd_req *)sqe->cmd;
    memset(cmd, 0, sizeof *cmd);
    cmd->qid = (uint16_t)q->cfg.qid;
    cmd->commit_id = cmd_op == FUSE_IO_URING_CMD_REGISTER ? 0 : e->commit_id;
    e->registering = cmd_op == FUSE_IO_URING_CMD_REGISTER;
    io_uring_sqe_set_data(sqe, e);
}

static void arm_wakeup(struct uring_queue *q)
{
    struct io_uring_sqe *sqe = get_sqe(q);

    io_uring_prep_read(sqe, q->efd, &q->efd_value, sizeof q->efd_value, 0);
    io_uring_sqe_set_data(sqe, q);
}

/* Commits other threads left in the mailbox (worker only). */
static void drain_mailbox(struct uring_queue *q)
{
    struct uring_entry *e = atomic_exchange_explicit(&q->mailbox, NULL,
                                                     memory_order_acquire);

    while (e) {
        struct uring_entry *next = e->next;

        prep_cmd(q, e, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
        e = next;
    }
}

/* -------------------------------------------------------- receiving */

/* Pin the worker to its CPU, enable the ring (the worker becomes its
 * submitter), wait for INIT's decision, register every entry. */
static int start(struct uring_queue *q)
{
    cpu_set_t set;
    int err;

    current_queue = q;
    CPU_ZERO(&set);
    CPU_SET(q->cfg.qid, &set);
    /* An offline CPU cannot be pinned to: the queue works anyway. */
    (void)pthread_setaffinity_np(pthread_self(), sizeof set, &set);
    /* liburing 2.3 declares io_uring_enable_rings() but does not export
     * it: the register call itself. */
    err = io_uring_register(q->ring.ring_fd, IORING_REGISTER_ENABLE_RINGS,
                            NULL, 0);
    if (err < 0) {
        qlog(q, "cannot enable the ring: %s", strerror(-err));
        return err;
    }
    if (gate_wait(q->cfg.gate) != GATE_OPEN)
        return -ESHUTDOWN;
    arm_wakeup(q);
    for (unsigned i = 0; i < q->cfg.entries; i++)
        prep_cmd(q, &q->entries[i], FUSE_IO_URING_CMD_REGISTER);
    q->started = true;
    return 0;
}

/* The entry's request as one buffer: header and op struct copied into the
 * room in front of the payload. Returns its length, or 0 if the kernel's
 * sizes do not add up (then the request is answered EIO). */
static size_t assemble(struct uring_queue *q, struct uring_entry *e)
{
    struct fuse_in_header ih;
    uint32_t payload = e->header.ring_ent_in_out.payload_sz;
    size_t op_size;

    memcpy(&ih, e->header.in_out, sizeof ih);
    e->commit_id = e->header.ring_ent_in_out.commit_id;
    if (payload > q->cfg.payload_size || ih.len < sizeof ih + payload)
        return 0;
    op_size = ih.len - sizeof ih - payload;
    if (op_size > FUSE_URING_OP_IN_OUT_SZ)
        return 0;
    e->req = e->payload - sizeof ih - op_size;
    e->req_len = ih.len;
    e->opcode = ih.opcode;
    e->reply_size = 0;
    memcpy(e->req, &ih, sizeof ih);
    memcpy(e->req + sizeof ih, e->header.op_in, op_size);
    return ih.len;
}

static void reply_eio(struct uring_entry *e)
{
    struct fuse_out_header out = { .len = sizeof out, .error = -EIO };
    struct iovec iov = { &out, sizeof out };

    memcpy(&out.unique, e->header.in_out + offsetof(struct fuse_in_header,
                                                    unique),
           sizeof out.unique);
    e->base.ops->send(&e->base, &iov, 1);
}

/* A command of @e failed with @res. Returns 0 to go on, or what receive()
 * returns. */
static ssize_t entry_failed(struct uring_queue *q, struct uring_entry *e,
                            int res)
{
    if (res == -ENOTCONN || res == -ECONNABORTED || res == -ECANCELED)
        return -ENODEV;
    if (e->registering && res == -EAGAIN) {
        /* INIT's reply not processed yet: try again shortly. */
        usleep(1000);
        prep_cmd(q, e, FUSE_IO_URING_CMD_REGISTER);
        return 0;
    }
    if (e->registering) {
        /* The kernel gave up io_uring for this connection and serves
         * /dev/fuse instead. */
        qlog(q, "the kernel refused the ring (%s); requests go through "
             "/dev/fuse", strerror(-res));
        return -ESHUTDOWN;
    }
    /* A commit the kernel could not match (-ENOENT: the request no
     * longer waited, it was interrupted): the reply, still in the entry,
     * never reached the kernel, so what it handed out is given back
     * (cfg.undelivered), as /dev/fuse's send() returning -ENOENT lets the
     * dispatcher do at once. The entry has no command in the kernel any
     * more; register it again. */
    if (q->cfg.undelivered)
        q->cfg.undelivered(q->cfg.undelivered_ctx, e->opcode, e->payload,
                           e->reply_size);
    if (res != -ENOENT)
        qlog(q, "commit failed: %s; entry registered again", strerror(-res));
    prep_cmd(q, e, FUSE_IO_URING_CMD_REGISTER);
    return 0;
}

static int wait_events(struct uring_queue *q)
{
    struct __kernel_timespec ts = { .tv_sec = 0,
                                    .tv_nsec = STOP_WAIT_MS * 1000000L };
    struct io_uring_cqe *cqe = NULL;
    int ret;

    /* Waits are bounded so that a queue notices the stop: once the
     * /dev/fuse workers are gone, a queue that sees nothing for a while
     * ends. It may have no command left in the kernel to be completed:
     * every entry held by a pending request whose response comes only
     * after the dispatcher stopped (memfs's slowio answers its queue in
     * dispatcher_stopped). */
    ret = io_uring_submit_and_wait_timeout(&q->ring, &cqe, 1, &ts, NULL);
    if (ret == -ETIME && gate_stopped(q->cfg.gate))
        return -ENODEV;
    if (ret >= 0 || ret == -ETIME || ret == -EINTR || ret == -EAGAIN ||
        ret == -EBUSY)
        return 0;
    return ret;
}

static ssize_t uring_receive(struct fsp_channel *ch, void **buf)
{
    struct uring_queue *q = (struct uring_queue *)ch;
    int err;

    if (!q->started) {
        err = start(q);
        if (err)
            return err;
    }
    for (;;) {
        struct io_uring_cqe *cqe = NULL;
        struct uring_entry *e;
        void *data;
        ssize_t ret;
        size_t len;
        int res;

        if (io_uring_peek_cqe(&q->ring, &cqe) != 0 || !cqe) {
            err = wait_events(q);
            if (err)
                return err;
            continue;
        }
        data = io_uring_cqe_get_data(cqe);
        res = cqe->res;
        io_uring_cqe_seen(&q->ring, cqe);
        if (data == q) {
            drain_mailbox(q);
            /* Canceled only when the ring goes away: do not spin. */
            if (res != -ECANCELED)
                arm_wakeup(q);
            continue;
        }
        e = data;
        if (res < 0) {
            ret = entry_failed(q, e, res);
            if (ret)
                return ret;
            continue;
        }
        len = assemble(q, e);
        if (!len) {
            qlog(q, "a request whose sizes do not add up: answered EIO");
            reply_eio(e);
            continue;
        }
        if (q->cfg.requests)
            atomic_fetch_add_explicit(q->cfg.requests, 1,
                                      memory_order_relaxed);
        q->last = e;
        *buf = e->req;
        return (ssize_t)len;
    }
}

static struct fsp_channel *uring_reply_channel(struct fsp_channel *ch)
{
    struct uring_queue *q = (struct uring_queue *)ch;

    return &q->last->base;
}

/* --------------------------------------------------------- replying */

static int entry_send(struct fsp_channel *ch, const struct iovec *iov,
                      int iovcnt)
{
    struct uring_entry *e = (struct uring_entry *)ch;
    struct uring_queue *q = e->q;
    struct fuse_out_header out;
    size_t total = 0;
    char *p = e->payload;
    int err = 0;

    if (iovcnt < 1 || iov[0].iov_len != sizeof out)
        return -EINVAL;
    memcpy(&out, iov[0].iov_base, sizeof out);
    for (int i = 1; i < iovcnt; i++)
        total += iov[i].iov_len;
    if (total > q->cfg.payload_size) {
        /* Never leave the caller waiting: answer EIO instead. */
        out.error = -EIO;
        total = 0;
        iovcnt = 1;
        err = -EIO;
    }
    /* memmove: a reply may be built from the request's own bytes. */
    for (int i = 1; i < iovcnt; i++) {
        memmove(p, iov[i].iov_base, iov[i].iov_len);
        p += iov[i].iov_len;
    }
    out.len = (uint32_t)(sizeof out + total);
    memcpy(e->header.in_out, &out, sizeof out);
    e->header.ring_ent_in_out.payload_sz = (uint32_t)total;
    e->reply_size = total;

    if (current_queue == q) {
        prep_cmd(q, e, FUSE_IO_URING_CMD_COMMIT_AND_FETCH);
    } else {
        struct uring_entry *head = atomic_load_explicit(&q->mailbox,
                                                        memory_order_relaxed);
        uint64_t one = 1;
        ssize_t n;

        do
            e->next = head;
        while (!atomic_compare_exchange_weak_explicit(
            &q->mailbox, &head, e, memory_order_release,
            memory_order_relaxed));
        n = write(q->efd, &one, sizeof one);
        (void)n; /* an eventfd write fails only on overflow: still awake */
    }
    return err;
}

/* A copy of the request, so that the entry can be re-armed while a
 * pending WRITE's data is still read (see the top of the file). */
static int entry_detach(struct fsp_channel *ch, void **buf)
{
    struct uring_entry *e = (struct uring_entry *)ch;
    void *copy = malloc(e->req_len);

    *buf = NULL;
    if (!copy)
        return -ENOMEM;
    memcpy(copy, e->req, e->req_len);
    *buf = copy;
    return 0;
}

static void entry_free_detached(void *buf)
{
    free(buf);
}

/* Entries die with their queue. */
static void entry_destroy(struct fsp_channel *ch)
{
    (void)ch;
}

static const struct fsp_channel_ops entry_ops = {
    .kind = "io_uring",
    .send = entry_send,
    .detach = entry_detach,
    .free_detached = entry_free_detached,
    .destroy = entry_destroy,
};

/* ------------------------------------------------------------- life */

static void uring_destroy(struct fsp_channel *ch)
{
    struct uring_queue *q = (struct uring_queue *)ch;

    if (!q)
        return;
    /* Closing the ring cancels the commands still in the kernel. */
    if (q->ring_ok)
        io_uring_queue_exit(&q->ring);
    if (q->efd >= 0)
        close(q->efd);
    if (q->entries)
        for (unsigned i = 0; i < q->cfg.entries; i++)
            free(q->entries[i].mem);
    free(q->entries);
    free(q);
}

/* The queue channel receives; replies go to its entries. */
static int uring_send(struct fsp_channel *ch, const struct iovec *iov,
                      int iovcnt)
{
    (void)ch;
    (void)iov;
    (void)iovcnt;
    return -EINVAL;
}

static const struct fsp_channel_ops queue_ops = {
    .kind = "io_uring",
    .receive = uring_receive,
    .reply_channel = uring_reply_channel,
    .send = uring_send,
    .destroy = uring_destroy,
};

static int setup_ring(struct uring_queue *q)
{
    struct io_uring_params p;
    unsigned depth = q->cfg.entries * 2 + 2;
    int err;

    memset(&p, 0, sizeof p);
    p.flags = IORING_SETUP_SQE128 | IORING_SETUP_R_DISABLED |
              IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN;
    err = io_uring_queue_init_params(depth, &q->ring, &p);
    if (err == -EINVAL) {
        /* Kernels before 6.1 lack DEFER_TASKRUN; any worker then runs
         * the ring's work, which is fine. */
        memset(&p, 0, sizeof p);
        p.flags = IORING_SETUP_SQE128 | IORING_SETUP_R_DISABLED;
        err = io_uring_queue_init_params(depth, &q->ring, &p);
    }
    return err;
}

int fsp_channel_uring_create(const struct fsp_uring_config *cfg,
                             struct fsp_channel **pch)
{
    struct uring_queue *q;
    size_t payload = (cfg->payload_size + PAGE - 1) / PAGE * PAGE;
    int err;

    *pch = NULL;
    q = calloc(1, sizeof *q);
    if (!q)
        return -ENOMEM;
    q->base.ops = &queue_ops;
    q->cfg = *cfg;
    q->cfg.payload_size = payload;
    q->efd = -1;
    atomic_init(&q->mailbox, NULL);
    err = -ENOMEM;
    q->entries = calloc(cfg->entries, sizeof *q->entries);
    if (!q->entries)
        goto out;
    for (unsigned i = 0; i < cfg->entries; i++) {
        struct uring_entry *e = &q->entries[i];

        e->base.ops = &entry_ops;
        e->q = q;
        e->mem = aligned_alloc(PAGE, HEAD_ROOM + payload);
        if (!e->mem)
            goto out;
        e->payload = e->mem + HEAD_ROOM;
        e->iov[0].iov_base = &e->header;
        e->iov[0].iov_len = sizeof e->header;
        e->iov[1].iov_base = e->payload;
        e->iov[1].iov_len = payload;
    }
    q->efd = eventfd(0, EFD_CLOEXEC);
    if (q->efd < 0) {
        err = -errno;
        goto out;
    }
    err = setup_ring(q);
    if (err)
        goto out;
    q->ring_ok = true;
    *pch = &q->base;
    q = NULL;
out:
    uring_destroy(q ? &q->base : NULL);
    return err;
}
