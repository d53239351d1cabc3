/*
 * pending.h - requests in flight, and those a callback completes later
 * (FSP_PENDING): READ, WRITE, READDIR and READDIRPLUS, the opcodes whose
 * row in the opcode table has a complete function.
 *
 * The dispatcher registers such a request before its execute function
 * invokes the callback, so that a response sent while the callback still
 * runs finds it, then hands the result to fsp_pending_end(). The record
 * carries all a reply needs: the transaction (request, response, the
 * buffers the callback was given, the open handle) and its channel. The
 * state machine is described in pending.c.
 */
#ifndef FSP_PENDING_H
#define FSP_PENDING_H

#include <limits.h>

#include "dispatch.h"
#include "op_table.h"
#include "txn.h"

/*
 * A request in flight, as the dispatcher holds it: the transaction (the
 * request and its response, txn.h) and what it takes to answer it. Each
 * worker keeps one spare, so that a request answered at once allocates
 * nothing. Requests whose callback may return FSP_PENDING (their row has
 * a complete function) are also registered in the pending table from
 * before the callback runs until they are answered.
 */
struct fsp_pending {
    struct fsp_pending *next;       /* hash chain */
    int state;                      /* enum in pending.c */
    bool interrupted;               /* the kernel sent INTERRUPT */
    bool answered;                  /* EINTR sent: drop the response */
    fsp_response_t rsp;             /* response stored for the owner */
    const struct fsp_op *op;        /* the opcode's row; NULL if unknown */
    struct fsp_channel *ch;         /* where the reply goes (channel.h) */
    struct fsp_worker *worker;      /* the worker that received it */
    uint64_t start_ns;              /* for the debug log's latency */
    bool pinned;                    /* txn.handle is pinned */
    /* Buffers the record owns once its callback returned FSP_PENDING:
     * the request (WRITE's detached from the channel, with its data; any
     * other a copy) and, for an opcode whose response is data, the reply
     * buffer. NULL while they still belong to the worker. */
    bool owns_buffers;
    void *rx_buf;
    void (*rx_free)(void *buf);
    void *reply_buf;
    struct fsp_txn txn;
};

int fsp_pending_init(struct fsp_fs *fs);
/* The dispatcher's workers are gone: wait for replies being sent on
 * their channels, then discard responses instead of sending them. */
void fsp_pending_stop(struct fsp_fs *fs);
/* fsp_fs_delete(): free the records still pending. */
void fsp_pending_fini(struct fsp_fs *fs);

/* Register @p (a request whose callback may pend) before its execute
 * function runs: a response sent from inside the callback finds it. */
void fsp_pending_register(struct fsp_pending *p);
/*
 * The execute function of registered @p returned @result (0, -errno or
 * FSP_PENDING). Answers now, or leaves the answer to
 * fsp_fs_send_response(). Returns true when the record was handed off
 * (pending): the worker must neither use nor reuse it.
 */
bool fsp_pending_end(struct fsp_pending *p, int result);
/* INTERRUPT of request @unique. */
void fsp_pending_interrupt(struct fsp_fs *fs, uint64_t unique);
/* Free what a finished record owns and the record: into @w's spare slot
 * when @w is given (the worker's own thread) and it is empty. */
void fsp_pending_release(struct fsp_fs *fs, struct fsp_pending *p,
                         struct fsp_worker *w);
/* A worker's spare record, at the end of the dispatcher. */
void fsp_pending_free_spare(struct fsp_worker *w);

/* Run @p's transaction from its current step (dispatcher.c), with its
 * operation context set: execute, and complete each callback that
 * answered at once, until it pends or ends. Returns FSP_PENDING or the
 * final status (0, -errno). */
int fsp_dispatch_run(struct fsp_pending *p);

/* @p's complete function on the callback's answer @rsp (dispatcher.c).
 * An error that is not 0 or -errno (a positive value, one below -4095:
 * a bug of the file system) is logged and becomes EIO first, so that no
 * answer passes for FSP_TXN_CONTINUE and runs the step again. Returns
 * what the complete function returns. */
int fsp_dispatch_complete(struct fsp_pending *p, const fsp_response_t *rsp);

/*
 * Send @p's response (dispatcher.c): encode it, send it on its channel,
 * account for it; if the kernel does not take it, run the opcode's
 * undelivered step. Returns what the channel returned.
 */
int fsp_dispatch_deliver(struct fsp_pending *p);
/* @p's response will not be sent (EINTR went first, or the volume
 * stopped): run the undelivered step on what it would have been. */
void fsp_dispatch_drop(struct fsp_pending *p);
/* Send an error reply to request @unique of @opcode on @ch, outside of a
 * transaction: EINTR of an interrupted request, ENOMEM without a record. */
int fsp_dispatch_send_error(struct fsp_fs *fs, struct fsp_channel *ch,
                            uint64_t unique, uint32_t opcode, int error,
                            uint64_t start_ns);

#endif /* FSP_PENDING_H */
