/*
 * dispatcher.c - layer 3: worker threads that turn requests into replies.
 *
 * Each worker owns a channel (its own cloned /dev/fuse descriptor when the
 * kernel allows it) and a reply buffer, and loops: receive, decode, look up
 * the opcode's row in the opcode table (op_table.c), execute it, and send
 * its response, once, on the same channel; a response that does not reach
 * the kernel is undone by the row's undelivered step (also when the
 * io_uring channel reports the refusal later: uring.c). A control thread
 * waits for fsp_fs_stop() (which only writes to an eventfd, so it is safe
 * in a signal handler), unmounts, and polls the debug switch that
 * `fsptool debug` flips.
 *
 * Workers stop when the channel says ENODEV: the volume was unmounted and
 * the kernel dropped the connection (there may be no DESTROY: umount -f,
 * abort), or after DESTROY.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "dispatch.h"
#include "mount.h"
#include "op_table.h"
#include "pending.h"

uint64_t fsp_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ replies */

/* Send one reply: the out header and @body. Accounts for it in the
 * statistics and the debug log. Returns what the channel returned. */
static int send_reply(struct fsp_fs *fs, struct fsp_channel *ch,
                      uint64_t unique, uint32_t opcode, int error,
                      const void *body, size_t size, uint64_t start_ns)
{
    struct fuse_out_header out;
    struct iovec iov[2];
    int err;

    out.len = (uint32_t)(sizeof out + size);
    out.error = error;
    out.unique = unique;
    iov[0].iov_base = &out;
    iov[0].iov_len = sizeof out;
    iov[1].iov_base = (void *)body;
    iov[1].iov_len = size;
    err = ch->ops->send(ch, iov, size ? 2 : 1);
    fsp_log_reply(fs, unique, opcode, error, size, start_ns);
    fsp_stats_reply(&fs->stats, error);
    if (fs->stats.shared)
        atomic_fetch_sub_explicit(&fs->stats.shared->pending, 1,
                                  memory_order_relaxed);
    return err;
}

int fsp_dispatch_send_error(struct fsp_fs *fs, struct fsp_channel *ch,
                            uint64_t unique, uint32_t opcode, int error,
                            uint64_t start_ns)
{
    return send_reply(fs, ch, unique, opcode, error, NULL, 0, start_ns);
}

/* The body @t's response encodes to (none for an error). */
static size_t body_of(const struct fsp_pending *p, const void **body)
{
    *body = NULL;
    if (p->txn.error || !p->op || !p->op->encode)
        return 0;
    return p->op->encode(&p->txn, body);
}

int fsp_dispatch_deliver(struct fsp_pending *p)
{
    struct fsp_txn *t = &p->txn;
    struct fsp_fs *fs = t->fs;
    const void *body;
    size_t size;
    int err;

    /* A callback that returned garbage must not reach the kernel, which
     * would reject the whole reply: log it and answer EIO instead. */
    if (t->error > 0 || t->error < -4095) {
        fsp_log(fs, "unique=%llu: callback returned %d, not 0 or -errno; "
                "replying EIO", (unsigned long long)t->in.unique, t->error);
        t->error = -EIO;
    }
    size = body_of(p, &body);
    err = send_reply(fs, p->ch, t->in.unique, t->in.opcode, t->error, body,
                     size, p->start_ns);
    if (err) {
        /* -ENOENT: the kernel no longer waits for it (interrupted). */
        if (size && p->op->undelivered)
            p->op->undelivered(fs, body, size);
    } else if (p->op && p->op->sent) {
        p->op->sent(t);
    }
    return err;
}

void fsp_dispatch_drop(struct fsp_pending *p)
{
    const void *body;
    size_t size = body_of(p, &body);

    if (size && p->op->undelivered)
        p->op->undelivered(p->txn.fs, body, size);
}

int fsp_dispatch_interrupt(struct fsp_txn *t)
{
    const struct fuse_interrupt_in *in = t->in.arg;

    /* A target whose callback returned FSP_PENDING is answered EINTR at
     * once (pending.c); any other one is answered when its callback
     * returns, usually before the INTERRUPT is even read. INTERRUPT
     * itself takes no reply. */
    if (t->fs->stats.shared)
        atomic_fetch_add_explicit(&t->fs->stats.shared->interrupts, 1,
                                  memory_order_relaxed);
    fsp_pending_interrupt(t->fs, in->unique);
    return 0;
}

/* --------------------------------------------------------- one request */

int fsp_dispatch_complete(struct fsp_pending *p, const fsp_response_t *rsp)
{
    fsp_response_t fixed;

    if (rsp->error > 0 || rsp->error < -4095) {
        fsp_log(p->txn.fs, "unique=%llu %s: callback returned %d, not 0 or "
                "-errno; replying EIO", (unsigned long long)p->txn.in.unique,
                p->op->name, rsp->error);
        fixed = *rsp;
        fixed.error = -EIO;
        rsp = &fixed;
    }
    return p->op->complete(&p->txn, rsp);
}

int fsp_dispatch_run(struct fsp_pending *p)
{
    const struct fuse_in_header *hdr = p->txn.in.hdr;
    const fsp_operation_context_t *outer = fsp_fs_operation_context();
    fsp_operation_context_t opctx;
    int r;

    /* The callbacks see who asked (fsp_fs_operation_context()), also
     * when a later step runs on the thread of fsp_fs_send_response(). */
    opctx.hint = p->txn.in.unique;
    opctx.uid = hdr->uid;
    opctx.gid = hdr->gid;
    opctx.pid = hdr->pid;
    fsp_set_operation_context(&opctx);
    for (;;) {
        r = p->op->execute(&p->txn);
        if (r != FSP_TXN_CALLED || !p->op->complete)
            break;              /* FSP_PENDING, or ended before a call */
        r = fsp_dispatch_complete(p, &p->txn.rsp);
        if (r != FSP_TXN_CONTINUE)
            break;
    }
    fsp_set_operation_context(outer);
    return r;
}

/* A record for the next request: the worker's spare, or a new one. */
static struct fsp_pending *take_record(struct fsp_worker *w)
{
    struct fsp_pending *p = w->spare;

    if (p)
        w->spare = NULL;
    else
        p = malloc(sizeof *p);
    if (p)
        memset(p, 0, sizeof *p);
    return p;
}

/* Without a record: answer from the header alone, if it can be read. */
static void refuse(struct fsp_worker *w, struct fsp_channel *ch,
                   const void *buf, size_t len, int error)
{
    const struct fuse_in_header *hdr = buf;

    if (len < sizeof *hdr || hdr->len != len ||
        !fsp_op_has_reply(hdr->opcode))
        return;
    fsp_dispatch_send_error(w->fs, ch, hdr->unique, hdr->opcode, error, 0);
}

void fsp_dispatch_request(struct fsp_worker *w, void *buf, size_t len)
{
    struct fsp_fs *fs = w->fs;
    struct fsp_channel *ch;
    struct fsp_pending *p;
    struct fsp_txn *t;
    bool has_reply;
    int err;

    /* An io_uring queue answers each request in its own ring entry. */
    ch = w->ch->ops->reply_channel ? w->ch->ops->reply_channel(w->ch)
                                   : w->ch;
    p = take_record(w);
    if (!p) {
        refuse(w, ch, buf, len, -ENOMEM);
        return;
    }
    p->ch = ch;
    p->worker = w;
    t = &p->txn;
    t->fs = fs;
    t->reply_buf = w->reply_buf;
    t->reply_buf_size = w->reply_buf_size;
    /* Only the debug log needs the latency: no clock read otherwise. */
    if (atomic_load_explicit(&fs->debug, memory_order_relaxed))
        p->start_ns = fsp_now_ns();

    err = fsp_op_decode(buf, len, atomic_load(&fs->proto_minor), &t->in);
    if (err == -EINVAL) {
        /* No trustworthy header: nothing can be answered. */
        fsp_log(fs, "dropped a malformed request of %zu bytes", len);
        goto out;
    }
    p->op = fsp_op_of(t->in.opcode);
    has_reply = !p->op || !p->op->shape.no_reply; /* unknown: ENOSYS */
    fsp_stats_request(&fs->stats, t->in.opcode);
    if (fs->stats.shared && has_reply)
        atomic_fetch_add_explicit(&fs->stats.shared->pending, 1,
                                  memory_order_relaxed);
    fsp_log_request(fs, &t->in);
    if (err || !p->op || !p->op->execute) {
        /* Malformed, unknown or not served: an error reply, never a
         * crash; requests that take no reply (a bad FORGET) are dropped. */
        if (has_reply) {
            t->error = err == -EPROTO ? -EIO : -ENOSYS;
            fsp_dispatch_deliver(p);
        } else if (err) {
            fsp_log(fs, "dropped a malformed %s request", p->op->name);
        }
        goto out;
    }

    if (p->op->complete) {
        /* Registered before the callback runs: a response sent from
         * inside it finds the request. */
        fsp_pending_register(p);
        if (fsp_pending_end(p, fsp_dispatch_run(p)))
            return; /* pending: the record is the responder's */
        goto out;
    }
    err = fsp_dispatch_run(p);
    if (has_reply) {
        t->error = err;
        fsp_dispatch_deliver(p);
    }
out:
    fsp_pending_release(fs, p, w);
}

/* A receive that got nothing but may simply be tried again: a signal,
 * nothing to read, or a request the kernel took back (INTERRUPT). */
static bool receive_again(ssize_t n)
{
    return n == -EINTR || n == -EAGAIN || n == -ENOENT;
}

static void *worker_main(void *arg)
{
    struct fsp_worker *w = arg;
    struct fsp_fs *fs = w->fs;
    sigset_t all;

    /* Signals belong to the application's main thread, not to workers. */
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);

    for (;;) {
        void *buf = NULL;
        ssize_t n = w->ch->ops->receive(w->ch, &buf);

        if (n > 0) {
            fsp_dispatch_request(w, buf, (size_t)n);
            continue;
        }
        if (receive_again(n))
            continue;
        /* An io_uring queue of a volume that ended up on /dev/fuse: the
         * other workers serve it, nothing to stop. */
        if (n == -ESHUTDOWN)
            return NULL;
        if (n != -ENODEV) {
            int expected = 0;

            atomic_compare_exchange_strong(&fs->exit_error, &expected,
                                           (int)n);
            fsp_log(fs, "worker: receive failed: %s", strerror((int)-n));
        }
        break;
    }
    /* One worker leaving means the connection is gone for all: wake the
     * control thread so it can finish the stop. */
    atomic_store(&fs->stopping, true);
    if (fs->stop_fd >= 0) {
        uint64_t one = 1;
        ssize_t r = write(fs->stop_fd, &one, sizeof one);
        (void)r;
    }
    return NULL;
}

/* A worker's request buffer: the largest WRITE and its headers. */
static size_t request_buf_size(const struct fsp_fs *fs)
{
    return (size_t)fs->max_write + 64 * 1024;
}

/* A worker's reply buffer: the largest READ and its header; -ENOMEM. */
static int worker_alloc_reply_buf(struct fsp_worker *w)
{
    w->reply_buf_size = w->fs->max_read + 4096;
    w->reply_buf = malloc(w->reply_buf_size);
    return w->reply_buf ? 0 : -ENOMEM;
}

/* ----------------------------------------- serving during mount(2) */

/*
 * Synchronous INIT (mount.h): serve the session descriptor while mount(2)
 * waits for the INIT reply, until @stop_fd says mount(2) returned. INIT is
 * all the kernel sends then, but anything else it might (a security
 * module's GETXATTR) is served too, as a worker would. The channel stays
 * with the volume until fsp_fs_delete(): a request that pended here
 * answers through it later.
 */
void fsp_dispatch_serve_during_mount(void *ctx, int fd, int stop_fd)
{
    struct fsp_fs *fs = ctx;
    struct fsp_worker w = { .fs = fs };

    if (worker_alloc_reply_buf(&w) != 0 ||
        fsp_channel_dev_create(fd, 0, request_buf_size(fs), &w.ch) != 0) {
        fsp_log(fs, "cannot serve INIT during the mount: out of memory");
        goto out;
    }
    for (;;) {
        struct pollfd pfd[2] = { { .fd = fd, .events = POLLIN },
                                 { .fd = stop_fd, .events = POLLIN } };
        void *buf = NULL;
        ssize_t n;

        if (poll(pfd, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        if (pfd[1].revents)
            break;
        if (!(pfd[0].revents & POLLIN))
            break; /* POLLERR: the connection is gone */
        n = w.ch->ops->receive(w.ch, &buf);
        if (n > 0)
            fsp_dispatch_request(&w, buf, (size_t)n);
        else if (!receive_again(n))
            break;
    }
out:
    fs->mount_channel = w.ch;
    free(w.reply_buf);
    fsp_pending_free_spare(&w);
}

/* ------------------------------------------------------ control thread */

static void *control_main(void *arg)
{
    struct fsp_fs *fs = arg;
    struct pollfd pfd = { .fd = fs->stop_fd, .events = POLLIN };
    bool unmounted = false;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        int r = poll(&pfd, 1, 250);

        if (r > 0) {
            uint64_t v;
            ssize_t n = read(fs->stop_fd, &v, sizeof v);
            (void)n;
        }
        if (fs->stats.shared) {
            bool want = atomic_load_explicit(&fs->stats.shared->debug,
                                             memory_order_relaxed) != 0;
            atomic_store(&fs->debug, want);
        }
        if (atomic_load(&fs->stopping) && !unmounted) {
            /* Unmounting makes the kernel drop the connection once no
             * process uses the mount, and the workers then see ENODEV. */
            fsp_mount_unmount(fs->mount);
            unmounted = true;
        }
        if (atomic_load(&fs->workers_joined))
            break;
        if (r < 0 && errno != EINTR)
            break;
    }
    return NULL;
}

/* ------------------------------------------------------- start / wait */

static void destroy_workers(struct fsp_fs *fs, struct fsp_worker *workers,
                            unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        if (workers[i].ch)
            workers[i].ch->ops->destroy(workers[i].ch);
        free(workers[i].reply_buf);
        fsp_pending_free_spare(&workers[i]);
    }
    free(workers);
}

int fsp_dispatcher_start(struct fsp_fs *fs, unsigned threads)
{
    struct fsp_worker *workers;
    size_t bufsize = request_buf_size(fs);
    unsigned dev_threads = threads;
    unsigned queues = fsp_uring_queue_count(fs);
    int err = 0;

    fs->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (fs->stop_fd < 0)
        return -errno;
    workers = calloc(threads + queues, sizeof *workers);
    if (!workers)
        return -ENOMEM;
    /* The io_uring queues' workers come after the /dev/fuse ones; if the
     * rings cannot be set up, the volume runs on /dev/fuse alone. */
    if (queues && fsp_uring_create_queues(fs, workers + threads, queues))
        queues = 0;
    threads += queues;
    fs->nuring = queues;
    for (unsigned i = 0; i < threads; i++) {
        struct fsp_worker *w = &workers[i];

        w->fs = fs;
        err = worker_alloc_reply_buf(w);
        if (err)
            goto fail;
        /* Worker 0 reads the session descriptor itself; the others get
         * clones, each with its own queue. An ordinary user may not be
         * able to open /dev/fuse (mode 0600 on some systems): then all
         * workers share the session descriptor, which also works. */
        if (i >= dev_threads)
            continue; /* an io_uring queue: its channel exists */
        err = -EPERM;
        if (i > 0)
            err = fsp_channel_dev_create(fs->mount->fd, 1, bufsize, &w->ch);
        if (err)
            err = fsp_channel_dev_create(fs->mount->fd, 0, bufsize, &w->ch);
        if (err)
            goto fail;
    }
    fs->workers = workers;
    fs->nworkers = threads;
    for (unsigned i = 0; i < threads; i++) {
        err = -pthread_create(&workers[i].thread, NULL, worker_main,
                              &workers[i]);
        if (err)
            goto fail_running;
        workers[i].thread_started = true;
    }
    err = -pthread_create(&fs->control_thread, NULL, control_main, fs);
    if (err)
        goto fail_running;
    fs->control_started = true;
    return 0;

fail_running:
    /* Some workers run: the only way to stop them is to stop the mount. */
    atomic_store(&fs->stopping, true);
    fsp_mount_unmount(fs->mount);
    for (unsigned i = 0; i < threads; i++) {
        if (i == dev_threads)
            fsp_uring_stop(fs);
        if (workers[i].thread_started)
            pthread_join(workers[i].thread, NULL);
    }
    fs->workers = NULL;
fail:
    destroy_workers(fs, workers, threads);
    fsp_uring_free(fs);
    fs->nuring = 0;
    return err;
}

int fsp_dispatcher_wait(struct fsp_fs *fs)
{
    struct fsp_worker *workers = fs->workers;

    if (!workers)
        return atomic_load(&fs->exit_error);
    for (unsigned i = 0; i < fs->nworkers; i++) {
        /* The /dev/fuse workers are gone, so is the connection: io_uring
         * queues still waiting (for INIT, or for a ring the kernel never
         * tore down) may give up. */
        if (i == fs->nworkers - fs->nuring)
            fsp_uring_stop(fs);
        pthread_join(workers[i].thread, NULL);
    }
    fs->workers = NULL;
    atomic_store(&fs->workers_joined, true);
    if (fs->control_started) {
        uint64_t one = 1;
        ssize_t r = write(fs->stop_fd, &one, sizeof one);

        (void)r;
        pthread_join(fs->control_thread, NULL);
        fs->control_started = false;
    }
    /* Responses still to come find no channel to reply on. */
    fsp_pending_stop(fs);
    destroy_workers(fs, workers, fs->nworkers);
    fsp_uring_free(fs);
    if (fs->iface.dispatcher_stopped)
        fs->iface.dispatcher_stopped(fs, atomic_load(&fs->exit_error) == 0);
    return atomic_load(&fs->exit_error);
}

void fsp_dispatcher_stop(struct fsp_fs *fs)
{
    uint64_t one = 1;

    atomic_store(&fs->stopping, true);
    if (fs->stop_fd >= 0) {
        ssize_t r = write(fs->stop_fd, &one, sizeof one);
        (void)r;
    }
}
