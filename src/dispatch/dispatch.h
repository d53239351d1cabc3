/*
 * dispatch.h - layer 3, the dispatcher: worker threads, each with its
 * channel, that receive requests, run them through the opcode table and
 * send each reply once; and the io_uring queues' start (uring.c).
 */
#ifndef FSP_DISPATCH_H
#define FSP_DISPATCH_H

#include "channel.h"
#include "fs_internal.h"

/* One worker thread: its channel and the buffer it builds replies in. */
struct fsp_worker {
    struct fsp_fs *fs;
    pthread_t thread;
    bool thread_started;
    struct fsp_channel *ch;
    void *reply_buf;
    size_t reply_buf_size;
    /* A record for the pending table, kept between requests so that the
     * synchronous path of READ/WRITE/READDIR never allocates (pending.c). */
    struct fsp_pending *spare;
};

/* -------------------------------------------------------- dispatcher */

int fsp_dispatcher_start(struct fsp_fs *fs, unsigned threads);
int fsp_dispatcher_wait(struct fsp_fs *fs);
void fsp_dispatcher_stop(struct fsp_fs *fs);

/* ------------------------------------------------ io_uring (uring.c) */

/* How many io_uring queues the volume gets: one per possible CPU, or 0 if
 * it did not ask or the kernel does not allow it (logged once, with how
 * to enable it). */
unsigned fsp_uring_queue_count(struct fsp_fs *fs);
/* Create the channels of @n queues into @workers[0..n) and the gate they
 * wait at. On failure logs the fallback, leaves no channel, returns
 * -errno. */
int fsp_uring_create_queues(struct fsp_fs *fs, struct fsp_worker *workers,
                            unsigned n);
/* INIT was answered with @flags: open the gate (or close it, logged). */
void fsp_uring_init_answered(struct fsp_fs *fs, uint64_t flags);
/* The /dev/fuse workers are gone: the queues stop waiting. */
void fsp_uring_stop(struct fsp_fs *fs);
void fsp_uring_free(struct fsp_fs *fs);

/* Serve one request of @len bytes that worker @w received: decode,
 * execute, send the response on @w's channel (or leave it pending). The
 * workers' loop calls it; so do the volume unit tests, with a fake
 * channel. */
void fsp_dispatch_request(struct fsp_worker *w, void *buf, size_t len);
/* fsp_mount_options.serve_during_mount for a volume (@ctx): serve @fd
 * until @stop_fd is readable; the channel it used is left in
 * fs->mount_channel, for fsp_fs_delete() to destroy. */
void fsp_dispatch_serve_during_mount(void *ctx, int fd, int stop_fd);

/* The io_uring channel's report (fsp_uring_config.undelivered): the kernel
 * refused a reply of @opcode whose body was @body, committed earlier;
 * @fs is the volume. Runs the opcode's undelivered step, as the /dev/fuse
 * path does at once when send() fails. */
void fsp_dispatch_undelivered(void *fs, uint32_t opcode, const void *body,
                              size_t size);

#endif /* FSP_DISPATCH_H */
