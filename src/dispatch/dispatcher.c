/*
 * dispatcher.c - layer 3: worker threads that turn requests into replies.
 *
 * Each worker owns a channel (its own cloned /dev/fuse descriptor when the
 * kernel allows it) and a reply buffer, and loops: receive, decode, look up
 * the opcode's handler, run it, reply on the same channel. A control thread
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
#include "pending.h"

uint64_t fsp_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ replies */

static int send_reply(struct fsp_req *req, int error, const struct iovec *args,
                      int nargs)
{
    struct fsp_fs *fs = req->fs;
    struct fuse_out_header out;
    struct iovec iov[4];
    size_t size = 0;
    int err;

    if (req->replied)
        return -EALREADY;
    req->replied = true;
    /* A callback that returned garbage must not reach the kernel, which
     * would reject the whole reply: log it and answer EIO instead. */
    if (error > 0 || error < -4095) {
        fsp_log(fs, "unique=%llu: callback returned %d, not 0 or -errno; "
                "replying EIO", (unsigned long long)req->in.unique, error);
        error = -EIO;
        nargs = 0;
    }
    iov[0].iov_base = &out;
    iov[0].iov_len = sizeof out;
    for (int i = 0; i < nargs; i++) {
        iov[1 + i] = args[i];
        size += args[i].iov_len;
    }
    out.len = (uint32_t)(sizeof out + size);
    out.error = error;
    out.unique = req->in.unique;
    err = req->ch->ops->send(req->ch, iov, 1 + nargs);
    fsp_log_reply(req, error, size);
    fsp_stats_reply(&fs->stats, error);
    if (fs->stats.shared)
        atomic_fetch_sub_explicit(&fs->stats.shared->pending, 1,
                                  memory_order_relaxed);
    return err;
}

int fsp_reply_err(struct fsp_req *req, int error)
{
    return send_reply(req, error, NULL, 0);
}

int fsp_reply_ok(struct fsp_req *req, const void *arg, size_t size)
{
    struct iovec iov = { (void *)arg, size };

    return send_reply(req, 0, &iov, size ? 1 : 0);
}

int fsp_reply_ok2(struct fsp_req *req, const void *a, size_t asize,
                  const void *b, size_t bsize)
{
    struct iovec iov[2] = { { (void *)a, asize }, { (void *)b, bsize } };

    return send_reply(req, 0, iov, 2);
}

/* --------------------------------------------------------- one request */

static void process(struct fsp_worker *w, void *buf, size_t len)
{
    struct fsp_fs *fs = w->fs;
    struct fsp_req req;
    fsp_operation_context_t opctx;
    fsp_op_handler handler;
    int err;

    memset(&req, 0, sizeof req);
    req.fs = fs;
    /* An io_uring queue answers each request in its own ring entry. */
    req.ch = w->ch->ops->reply_channel ? w->ch->ops->reply_channel(w->ch)
                                       : w->ch;
    req.worker = w;
    req.reply_buf = w->reply_buf;
    req.reply_buf_size = w->reply_buf_size;
    /* Only the debug log needs the latency: no clock read otherwise. */
    if (atomic_load_explicit(&fs->debug, memory_order_relaxed))
        req.start_ns = fsp_now_ns();

    err = fsp_proto_decode(buf, len, atomic_load(&fs->proto_minor), &req.in);
    if (err == -EINVAL) {
        /* No trustworthy header: nothing can be answered. */
        fsp_log(fs, "dropped a malformed request of %zu bytes", len);
        return;
    }
    fsp_stats_request(&fs->stats, req.in.opcode);
    if (fs->stats.shared && fsp_proto_has_reply(req.in.opcode))
        atomic_fetch_add_explicit(&fs->stats.shared->pending, 1,
                                  memory_order_relaxed);
    fsp_log_request(&req);
    if (err) {
        /* Malformed or unknown: an error reply, never a crash; requests
         * that take no reply (a bad FORGET) are dropped. */
        if (fsp_proto_has_reply(req.in.opcode))
            fsp_reply_err(&req, err == -ENOSYS ? -ENOSYS : -EIO);
        else
            fsp_log(fs, "dropped a malformed %s request",
                    fsp_proto_opcode_name(req.in.opcode));
        return;
    }

    opctx.hint = req.in.unique;
    opctx.uid = req.in.hdr->uid;
    opctx.gid = req.in.hdr->gid;
    opctx.pid = req.in.hdr->pid;
    fsp_set_operation_context(&opctx);

    handler = fsp_volume_handler(req.in.opcode);
    if (handler)
        handler(&req);
    else
        fsp_reply_err(&req, -ENOSYS);

    /* A handler that forgot to answer would hang the caller forever.
     * (A request handed to a pending record is answered by the record.) */
    if (!req.replied && !req.handed_off &&
        fsp_proto_has_reply(req.in.opcode)) {
        fsp_log(fs, "unique=%llu %s: no reply from the handler; replying EIO",
                (unsigned long long)req.in.unique,
                fsp_proto_opcode_name(req.in.opcode));
        fsp_reply_err(&req, -EIO);
    }
    fsp_set_operation_context(NULL);
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
            process(w, buf, (size_t)n);
            continue;
        }
        if (n == -EINTR || n == -EAGAIN || n == -ENOENT)
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
    size_t bufsize = (size_t)fs->max_write + 64 * 1024;
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
        w->reply_buf_size = fs->max_read + 4096;
        w->reply_buf = malloc(w->reply_buf_size);
        if (!w->reply_buf) {
            err = -ENOMEM;
            goto fail;
        }
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
