/*
 * pending.c - requests completed later: the callbacks read, write and
 * read_directory may return FSP_PENDING and answer from any thread with
 * fsp_fs_send_response(); INTERRUPT of such a request is answered EINTR
 * at once and its late response dropped.
 *
 * The table. Every READ, WRITE, READDIR and READDIRPLUS gets a record,
 * keyed by the kernel's unique, registered *before* its callback runs, so
 * that a response sent from inside the callback (or from another thread
 * before the callback returns) finds it. One mutex guards the table, the
 * records' states and their flags; it is a leaf lock (nothing else is
 * taken under it) and no reply is ever sent under it. The synchronous
 * path costs two short critical sections and no allocation: each worker
 * keeps a spare record.
 *
 * States of a record, and who moves it:
 *
 *   IN_CALLBACK  registered; the callback runs on the worker.
 *       response arrives     -> RESPONDED (response stored in the record)
 *       INTERRUPT arrives    -> stays, interrupted = true
 *       callback returns 0 or -errno -> removed; the worker replies with
 *                               the callback's result (a response sent
 *                               meanwhile is a bug of the file system:
 *                               logged, ignored)
 *       callback returns FSP_PENDING:
 *           if RESPONDED     -> removed; the worker replies with it
 *           else the worker pins the handle, takes the request's buffers
 *           away from itself (a fresh reply buffer for the worker, the
 *           channel's receive buffer detached for a WRITE), allocated
 *           *before* the state changes, and then
 *                            -> PENDING; or, if that allocation failed,
 *                            -> WAITED (the worker waits for the response
 *                               itself, keeping its buffers: slower, but
 *                               no reply is lost)
 *           and if interrupted, it answers EINTR at once (answered = true)
 *
 *   PENDING      the record owns its buffers; no thread is held.
 *       response arrives     -> removed; the responding thread builds and
 *                               sends the reply (finish) and frees the
 *                               record; if answered (EINTR was sent) or
 *                               the volume stopped, the response is
 *                               dropped instead: -ECANCELED
 *       INTERRUPT arrives    -> stays; if not answered yet, answered =
 *                               true and EINTR is sent at once. The record
 *                               and its buffers live on until the file
 *                               system's response, because the file system
 *                               may still be writing into them.
 *
 *   WAITED       as PENDING, but the worker sleeps on the table's cond.
 *       response arrives     -> RESPONDED, the worker is woken; it removes
 *                               the record and replies (or drops it if
 *                               answered)
 *       INTERRUPT arrives    -> as for PENDING
 *
 *   RESPONDED    a response is stored; the worker that owns the record
 *                removes it and replies. A second response: -ENOENT.
 *
 * A record leaves the table (under the lock) before anyone replies from
 * it, so exactly one thread ever replies: the worker, the responder, or
 * (EINTR only, guarded by `answered`) the interrupting worker, which sends
 * from a copy of the request taken under the lock.
 *
 * Replies go out on the channel the request came from (channel.h). The
 * channels die with the dispatcher: fsp_pending_stop() waits for replies
 * being sent ("finishing") and from then on responses are dropped. The
 * records left are freed by fsp_fs_delete(); a response after it is not
 * allowed (fsp.h).
 *
 * The kernel releases a file only when no request on it awaits a reply,
 * but after an EINTR it may release a file whose request the file system
 * still works on: a pending record pins its handle, and RELEASE waits for
 * the pin (handle_table.c).
 *
 * INTERRUPT can also overtake its target: another worker may read it
 * between the read(2) of the target and the target's registration. The
 * uniques of interrupts that found no record are kept in a small ring,
 * and a registering request that finds its unique there starts
 * interrupted. Uniques are never reused, so a stale entry is harmless.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pending.h"

#define BUCKETS 256        /* power of two */
#define EARLY_INTERRUPTS 16

enum {
    IN_CALLBACK,
    PENDING,
    WAITED,
    RESPONDED,
};

struct fsp_pending_table {
    pthread_mutex_t lock;
    pthread_cond_t cond;            /* WAITED records, and stop */
    struct fsp_pending *buckets[BUCKETS];
    size_t count;
    bool stopped;                   /* the channels are gone */
    unsigned finishing;             /* replies being sent outside the lock */
    uint64_t early[EARLY_INTERRUPTS];
    unsigned early_next;
};

static struct fsp_pending **bucket_of(struct fsp_pending_table *t,
                                      uint64_t unique)
{
    /* The kernel's uniques go up in steps of 2. */
    return &t->buckets[(unique >> 1) & (BUCKETS - 1)];
}

static struct fsp_pending *find(struct fsp_pending_table *t, uint64_t unique)
{
    struct fsp_pending *p = *bucket_of(t, unique);

    while (p && p->txn.in.unique != unique)
        p = p->next;
    return p;
}

static void insert(struct fsp_pending_table *t, struct fsp_pending *p)
{
    struct fsp_pending **b = bucket_of(t, p->txn.in.unique);

    p->next = *b;
    *b = p;
    t->count++;
}

static void remove_record(struct fsp_pending_table *t, struct fsp_pending *p)
{
    struct fsp_pending **pp = bucket_of(t, p->txn.in.unique);

    while (*pp && *pp != p)
        pp = &(*pp)->next;
    if (*pp) {
        *pp = p->next;
        t->count--;
    }
    p->next = NULL;
}

/* Was @unique interrupted before it was registered? (lock held) */
static bool take_early_interrupt(struct fsp_pending_table *t, uint64_t unique)
{
    for (unsigned i = 0; i < EARLY_INTERRUPTS; i++) {
        if (t->early[i] == unique) {
            t->early[i] = 0;
            return true;
        }
    }
    return false;
}

/* What an early EINTR reply needs, copied from a record under the lock. */
struct fsp_eintr {
    struct fsp_channel *ch;
    uint64_t unique;
    uint32_t opcode;
    uint64_t start_ns;
};

static struct fsp_eintr eintr_of(const struct fsp_pending *p)
{
    struct fsp_eintr e = { p->ch, p->txn.in.unique, p->txn.in.opcode,
                           p->start_ns };

    return e;
}

static void send_eintr_reply(struct fsp_fs *fs, const struct fsp_eintr *e)
{
    fsp_dispatch_send_error(fs, e->ch, e->unique, e->opcode, -EINTR,
                            e->start_ns);
}

/* ------------------------------------------------------------ life */

int fsp_pending_init(struct fsp_fs *fs)
{
    struct fsp_pending_table *t = calloc(1, sizeof *t);

    if (!t)
        return -ENOMEM;
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->cond, NULL);
    fs->pending = t;
    return 0;
}

void fsp_pending_release(struct fsp_fs *fs, struct fsp_pending *p,
                         struct fsp_worker *w)
{
    fsp_txn_release(&p->txn);
    if (p->pinned)
        fsp_handle_unpin(fs, p->txn.handle);
    if (p->rx_buf)
        p->rx_free(p->rx_buf);
    free(p->reply_buf);
    if (w && !w->spare)
        w->spare = p;
    else
        free(p);
}

/* The response @rsp of @p, which will not be sent: the request lets go of
 * what it holds, and the reply it would have been is undone (a step that
 * would follow does not run). */
static void drop(struct fsp_pending *p, const fsp_response_t *rsp)
{
    int err = fsp_dispatch_complete(p, rsp);

    p->txn.error = err == FSP_TXN_CONTINUE ? -EINTR : err;
    fsp_dispatch_drop(p);
}

/* The response @rsp of @p becomes its reply, or its next step runs (from
 * this thread, registered again first so that an early response finds
 * it). Returns true when @p is pending again: the caller lets go of it. */
static bool answer(struct fsp_pending *p, const fsp_response_t *rsp)
{
    int err = fsp_dispatch_complete(p, rsp);

    if (err == FSP_TXN_CONTINUE) {
        fsp_pending_register(p);
        return fsp_pending_end(p, fsp_dispatch_run(p));
    }
    p->txn.error = err;
    fsp_dispatch_deliver(p);
    return false;
}

void fsp_pending_stop(struct fsp_fs *fs)
{
    struct fsp_pending_table *t = fs->pending;

    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopped = true;
    while (t->finishing)
        pthread_cond_wait(&t->cond, &t->lock);
    pthread_mutex_unlock(&t->lock);
}

void fsp_pending_fini(struct fsp_fs *fs)
{
    struct fsp_pending_table *t = fs->pending;

    if (!t)
        return;
    for (size_t i = 0; i < BUCKETS; i++) {
        while (t->buckets[i]) {
            struct fsp_pending *p = t->buckets[i];

            t->buckets[i] = p->next;
            drop(p, &p->rsp);
            fsp_pending_release(fs, p, NULL);
        }
    }
    pthread_cond_destroy(&t->cond);
    pthread_mutex_destroy(&t->lock);
    free(t);
    fs->pending = NULL;
}

void fsp_pending_free_spare(struct fsp_worker *w)
{
    free(w->spare);
    w->spare = NULL;
}

/* ------------------------------------------------------- the worker */

void fsp_pending_register(struct fsp_pending *p)
{
    struct fsp_pending_table *t = p->txn.fs->pending;

    p->state = IN_CALLBACK;
    pthread_mutex_lock(&t->lock);
    if (take_early_interrupt(t, p->txn.in.unique))
        p->interrupted = true;
    insert(t, p);
    pthread_mutex_unlock(&t->lock);
}

/*
 * Make the request's buffers the record's (before the state becomes
 * PENDING, once): the request itself, which the next steps and the
 * complete function still read (WRITE's data stays where the channel put
 * it: the channel detaches its receive buffer; any other request is
 * copied, being small), and for an opcode whose response is data in the
 * reply buffer (READ, READDIR...), that buffer: the worker gets a fresh
 * one.
 */
static const void *rebased(const void *ptr, const char *from, char *to)
{
    return ptr ? to + ((const char *)ptr - from) : NULL;
}

/* The request now lives at @copy: point what was decoded into it. The
 * header is the request's first byte, so the difference is the copy's
 * address minus the header's. */
static void rebase_request(struct fsp_request *in, void *copy)
{
    const char *from = (const char *)in->hdr;

    if ((const char *)copy == from)
        return;
    in->arg = rebased(in->arg, from, copy);
    in->name = rebased(in->name, from, copy);
    in->name2 = rebased(in->name2, from, copy);
    in->data = rebased(in->data, from, copy);
    in->hdr = copy;
}

static int take_buffers(struct fsp_pending *p)
{
    struct fsp_worker *w = p->worker;
    struct fsp_channel *ch = p->ch;
    struct fsp_request *in = &p->txn.in;
    void *fresh = NULL, *rx = NULL;
    int err;

    if (p->owns_buffers)
        return 0;
    if (p->op->reply_data) {
        fresh = malloc(w->reply_buf_size);
        if (!fresh)
            return -ENOMEM;
    }
    if (in->opcode == FUSE_WRITE) {
        err = ch->ops->detach ? ch->ops->detach(ch, &rx) : -ENOTSUP;
        p->rx_free = ch->ops->free_detached;
    } else {
        rx = malloc(in->hdr->len);
        err = rx ? 0 : -ENOMEM;
        if (rx)
            memcpy(rx, in->hdr, in->hdr->len);
        p->rx_free = free;
    }
    if (err) {
        free(fresh);
        return err;
    }
    p->rx_buf = rx;
    rebase_request(in, rx);
    if (p->op->reply_data) {
        p->reply_buf = w->reply_buf;
        w->reply_buf = fresh;
    } else {
        /* Nothing of the response is in it: the worker keeps it. */
        p->txn.reply_buf = NULL;
        p->txn.reply_buf_size = 0;
    }
    p->owns_buffers = true;
    return 0;
}

bool fsp_pending_end(struct fsp_pending *p, int result)
{
    struct fsp_fs *fs = p->txn.fs;
    struct fsp_pending_table *t = fs->pending;
    struct fsp_eintr eintr;
    bool responded, send_eintr = false;
    int err;

    if (result != FSP_PENDING) {
        pthread_mutex_lock(&t->lock);
        remove_record(t, p);
        responded = p->state == RESPONDED;
        pthread_mutex_unlock(&t->lock);
        if (responded)
            fsp_log(fs, "unique=%llu %s: fsp_fs_send_response() for a "
                    "callback that did not return FSP_PENDING; ignored",
                    (unsigned long long)p->txn.in.unique, p->op->name);
        p->txn.error = result;
        fsp_dispatch_deliver(p);
        return false;
    }

    /* The fast answer: the response came before the callback returned. */
    pthread_mutex_lock(&t->lock);
    responded = p->state == RESPONDED;
    if (responded)
        remove_record(t, p);
    pthread_mutex_unlock(&t->lock);
    if (responded)
        goto finish_here;

    /* Really pending. Everything that can fail is done before the state
     * changes, so that the record is complete the moment a responder
     * can take it. */
    if (p->txn.handle && !p->pinned) {
        fsp_handle_pin(fs, p->txn.handle);
        p->pinned = true;
    }
    err = take_buffers(p);
    if (err)
        fsp_log(fs, "unique=%llu: cannot detach the request's buffers "
                "(%s); the worker waits for the response",
                (unsigned long long)p->txn.in.unique, strerror(-err));

    pthread_mutex_lock(&t->lock);
    if (p->state == RESPONDED) {
        remove_record(t, p);
        pthread_mutex_unlock(&t->lock);
        goto finish_here;
    }
    p->state = err ? WAITED : PENDING;
    if (p->interrupted && !p->answered) {
        p->answered = true;
        send_eintr = true;
        eintr = eintr_of(p);
    }
    if (!err) {
        /* From here on the record is the responder's: hands off. */
        pthread_mutex_unlock(&t->lock);
        if (send_eintr)
            send_eintr_reply(fs, &eintr);
        return true;
    }
    pthread_mutex_unlock(&t->lock);
    if (send_eintr)
        send_eintr_reply(fs, &eintr);

    /* WAITED: the buffers are still the worker's; wait for the response
     * (fsp_fs_send_response() sets RESPONDED and signals). */
    pthread_mutex_lock(&t->lock);
    while (p->state != RESPONDED)
        pthread_cond_wait(&t->cond, &t->lock);
    remove_record(t, p);
    pthread_mutex_unlock(&t->lock);

finish_here:
    /* The record is out of the table: this thread alone answers. */
    if (p->answered) {
        fsp_log_debug(fs, "-- %llu %s: response after EINTR dropped",
                      (unsigned long long)p->txn.in.unique, p->op->name);
        drop(p, &p->rsp);
        return false;
    }
    return answer(p, &p->rsp);
}

/* ------------------------------------------------------- interrupts */

void fsp_pending_interrupt(struct fsp_fs *fs, uint64_t unique)
{
    struct fsp_pending_table *t = fs->pending;
    struct fsp_pending *p;
    struct fsp_eintr eintr;
    bool send_eintr = false;

    /* EINTR goes out from a copy taken under the lock: the record itself
     * may be freed by a responder meanwhile. */
    pthread_mutex_lock(&t->lock);
    p = find(t, unique);
    if (!p) {
        /* Answered already (the usual case), not a request that can be
         * pending, or not registered yet: remember it for the last. */
        t->early[t->early_next] = unique;
        t->early_next = (t->early_next + 1) % EARLY_INTERRUPTS;
    } else if (p->state == IN_CALLBACK) {
        p->interrupted = true;  /* acted on if the callback pends */
    } else if ((p->state == PENDING || p->state == WAITED) && !p->answered) {
        p->interrupted = true;
        p->answered = true;
        send_eintr = true;
        eintr = eintr_of(p);
    }
    pthread_mutex_unlock(&t->lock);
    if (send_eintr)
        send_eintr_reply(fs, &eintr);
}

/* ------------------------------------------------------ the response */

FSP_API int fsp_fs_send_response(fsp_fs_t *fs, const fsp_response_t *response)
{
    struct fsp_pending_table *t;
    struct fsp_pending *p;
    bool dropped;

    if (!fs || !response)
        return -EINVAL;
    t = fs->pending;
    pthread_mutex_lock(&t->lock);
    p = find(t, response->hint);
    if (!p || p->state == RESPONDED) {
        pthread_mutex_unlock(&t->lock);
        return -ENOENT;
    }
    if (p->state != PENDING) {
        /* IN_CALLBACK or WAITED: the worker owns the record and replies. */
        bool answered = p->answered;

        p->rsp = *response;
        if (p->state == WAITED)
            pthread_cond_broadcast(&t->cond);
        p->state = RESPONDED;
        pthread_mutex_unlock(&t->lock);
        return answered ? -ECANCELED : 0;
    }
    remove_record(t, p);
    dropped = p->answered || t->stopped;
    if (!dropped)
        t->finishing++;
    pthread_mutex_unlock(&t->lock);

    if (dropped) {
        fsp_log_debug(fs, "-- %llu %s: response %s dropped",
                      (unsigned long long)p->txn.in.unique, p->op->name,
                      p->answered ? "after EINTR" : "after the stop");
        drop(p, response);
        fsp_pending_release(fs, p, NULL);
        return -ECANCELED;
    }
    if (!answer(p, response))
        fsp_pending_release(fs, p, NULL);

    pthread_mutex_lock(&t->lock);
    if (--t->finishing == 0 && t->stopped)
        pthread_cond_broadcast(&t->cond);
    pthread_mutex_unlock(&t->lock);
    return 0;
}
