/*
 * pending.h - requests that a callback completes later (FSP_PENDING):
 * READ, WRITE, READDIR and READDIRPLUS.
 *
 * A handler registers a record before it invokes the callback, so that a
 * response sent while the callback still runs finds it, then hands the
 * callback's result to fsp_pending_end(). The record carries all a reply
 * needs: a copy of the request, the buffers the callback was given, the
 * open handle, and the handler's finish function that builds the reply.
 * The state machine is described in pending.c.
 */
#ifndef FSP_PENDING_H
#define FSP_PENDING_H

#include <limits.h>

#include "dispatch.h"

/*
 * Build and send the reply of @p from @rsp (error, bytes, info) when
 * @deliver; otherwise (the kernel was already answered EINTR, or the
 * volume stopped) only undo what the request did (lookup counts of a
 * READDIRPLUS). Releases the per-request state either way. Runs on the
 * worker, or on the thread that calls fsp_fs_send_response().
 */
typedef void (*fsp_pending_finish)(struct fsp_pending *p,
                                   const fsp_response_t *rsp, bool deliver);

struct fsp_pending {
    struct fsp_pending *next;       /* hash chain */
    int state;                      /* enum in pending.c */
    bool interrupted;               /* the kernel sent INTERRUPT */
    bool answered;                  /* EINTR sent: drop the response */
    fsp_response_t rsp;             /* response stored for the owner */
    struct fsp_req req;             /* the request (a copy) */
    fsp_pending_finish finish;
    struct fsp_handle *handle;      /* open file; pinned while pending */
    bool pinned;
    size_t size;                    /* READ: bytes asked for */
    struct fsp_dir_buffer db;       /* READDIR(PLUS): the listing */
    char marker[NAME_MAX + 1];      /* READDIR(PLUS): resume after this */
    /* Buffers the record owns once its callback returned FSP_PENDING:
     * the request as received (WRITE's data) and the reply buffer (READ's
     * data, the listing). NULL while they still belong to the worker. */
    const struct fsp_channel_ops *rx_ops;
    void *rx_buf;
    void *reply_buf;
};

int fsp_pending_init(struct fsp_fs *fs);
/* The dispatcher's workers are gone: wait for replies being sent on
 * their channels, then discard responses instead of sending them. */
void fsp_pending_stop(struct fsp_fs *fs);
/* fsp_fs_delete(): free the records still pending. */
void fsp_pending_fini(struct fsp_fs *fs);

/*
 * Register @req (READ, WRITE, READDIR, READDIRPLUS on @h) before its
 * callback runs. From then on the record answers the request: @req is
 * marked handed off. The callback must be given @p->req's buffers.
 * Returns NULL only on ENOMEM, after replying ENOMEM.
 */
struct fsp_pending *fsp_pending_begin(struct fsp_req *req,
                                      struct fsp_handle *h,
                                      fsp_pending_finish finish);
/*
 * The callback returned @result (0, -errno or FSP_PENDING) with
 * @bytes as its out-parameter. Replies now, or leaves the reply to
 * fsp_fs_send_response(). @p must not be used afterwards.
 */
void fsp_pending_end(struct fsp_pending *p, int result, size_t bytes);
/* INTERRUPT of request @unique, received by worker @req. */
void fsp_pending_interrupt(struct fsp_req *req, uint64_t unique);
/* A worker's spare record, at the end of the dispatcher. */
void fsp_pending_free_spare(struct fsp_worker *w);

#endif /* FSP_PENDING_H */
