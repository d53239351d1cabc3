/*
 * volume_lock.c - locks served by the file system: GETLK, SETLK and
 * SETLKW (POSIX byte-range locks and, with FUSE_LK_FLOCK, flock(2)), and
 * the unlocking on close that FLUSH and RELEASE carry.
 *
 * The kernel leaves locks to the file system only when INIT said so
 * (FUSE_POSIX_LOCKS, FUSE_FLOCK_LOCKS), which fsp says only when the
 * callbacks are set (fsp_vol_init). Otherwise it keeps them itself and
 * never sends these requests; one that comes anyway is answered ENOSYS.
 *
 * What the kernel does, and so what the file system must (fs/fuse/
 * file.c): fuse_setlk() sends SETLKW for a lock that may wait and turns
 * an EINTR reply into ERESTARTSYS (the caller's fcntl(2) is restarted
 * when its signal handler says SA_RESTART); it records nothing locally,
 * so nothing unlocks at close on its side: it sends, instead, FLUSH with
 * the closing process as lock_owner at every close(2) (unless the open
 * said FOPEN_NOFLUSH, which fsp then leaves off), and RELEASE with
 * FUSE_RELEASE_FLOCK_UNLOCK and the open file as lock_owner when an open
 * file that took flock locks goes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>

#include "fs_internal.h"
#include "txn.h"

/* Only on volumes with handles: without RELEASE (per_file_context) the
 * locks of an open file (flock, F_OFD_) would never end. */
bool fsp_volume_posix_locks(const struct fsp_fs *fs)
{
    return (fs->init_flags & FUSE_POSIX_LOCKS) && fs->iface.get_lock &&
           fs->iface.set_lock && !fs->params.per_file_context;
}

bool fsp_volume_flock_locks(const struct fsp_fs *fs)
{
    return (fs->init_flags & FUSE_FLOCK_LOCKS) && fs->iface.flock &&
           !fs->params.per_file_context;
}

/* ---- the lock owners of an open file ----
 *
 * The kernel names the owner of an F_OFD_ lock (the open file) in its
 * SETLK, but never at the end: no FLUSH carries it, and RELEASE names an
 * owner only after flock(2). Every process that had the file open sends
 * FLUSH with its own owner when it closes it (or exits), before the
 * RELEASE. So the owners that locked through a handle and that no FLUSH
 * on it named are open-file owners, and RELEASE unlocks them. */
struct fsp_lock_owners {
    uint32_t count, capacity;
    struct {
        uint64_t owner;
        bool flushed;
    } at[];
};

/* Note that @owner locked through @h (@flushed: a FLUSH named it). Out of
 * memory, an owner goes unnoted: its open-file locks then stay until
 * the file system's close(). */
static void note_owner(struct fsp_fs *fs, struct fsp_handle *h,
                       uint64_t owner, bool flushed)
{
    struct fsp_lock_owners *o;
    uint32_t i;

    pthread_mutex_lock(&fs->handles.lock);
    o = h->lock_owners;
    for (i = 0; o && i < o->count; i++)
        if (o->at[i].owner == owner)
            break;
    if (o && i < o->count) {
        o->at[i].flushed = o->at[i].flushed || flushed;
    } else if (!flushed) {
        if (!o || o->count == o->capacity) {
            uint32_t cap = o ? o->capacity * 2 : 4;
            struct fsp_lock_owners *bigger =
                realloc(o, sizeof *o + cap * sizeof o->at[0]);

            if (!bigger)
                goto out;
            if (!o)
                bigger->count = 0;
            bigger->capacity = cap;
            h->lock_owners = o = bigger;
        }
        o->at[o->count].owner = owner;
        o->at[o->count].flushed = false;
        o->count++;
    }
out:
    pthread_mutex_unlock(&fs->handles.lock);
}

/* The @n-th owner of @h that no FLUSH named, in *owner; false if none. */
static bool unflushed_owner(struct fsp_fs *fs, struct fsp_handle *h,
                            uint32_t n, uint64_t *owner)
{
    const struct fsp_lock_owners *o;
    bool found = false;

    pthread_mutex_lock(&fs->handles.lock);
    o = h->lock_owners;
    for (uint32_t i = 0; o && i < o->count && !found; i++) {
        if (o->at[i].flushed)
            continue;
        if (n-- == 0) {
            *owner = o->at[i].owner;
            found = true;
        }
    }
    pthread_mutex_unlock(&fs->handles.lock);
    return found;
}

/* The request's lock, checked: a type the kernel sends and a range that
 * is not empty. */
static int lock_of(const struct fuse_lk_in *in, fsp_lock_t *lock)
{
    const struct fuse_file_lock *lk = &in->lk;

    if (lk->type != F_RDLCK && lk->type != F_WRLCK && lk->type != F_UNLCK)
        return -EINVAL;
    if (lk->start > lk->end || lk->end > INT64_MAX)
        return -EINVAL;
    memset(lock, 0, sizeof *lock);
    lock->owner = in->owner;
    lock->start = lk->start;
    lock->end = lk->end;
    lock->type = lk->type;
    /* the process (not the header's thread), as the volume's pid
     * namespace sees it; 0 for an unlock and a test */
    lock->pid = lk->pid;
    return 0;
}

int fsp_vol_getlk(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_lk_in *in = t->in.arg;
    fsp_response_t *rsp;
    fsp_lock_t lock;
    int err;

    if (!fsp_volume_posix_locks(fs))
        return -ENOSYS;
    err = lock_of(in, &lock);
    if (err)
        return err;
    if (lock.type == F_UNLCK || (in->lk_flags & FUSE_LK_FLOCK))
        return -EINVAL;
    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    rsp = fsp_txn_rsp(t);
    rsp->lock.type = F_UNLCK;
    return fsp_txn_called(t, fs->iface.get_lock(fs, t->handle->ctx, &lock,
                                                &rsp->lock));
}

int fsp_vol_getlk_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const fsp_lock_t *c = &rsp->lock;
    struct fuse_file_lock *out = &t->out.lk.lk;

    if (rsp->error)
        return rsp->error;
    memset(&t->out.lk, 0, sizeof t->out.lk);
    out->type = F_UNLCK;
    if (c->type == F_UNLCK)
        return 0;
    /* The kernel would refuse the whole reply (EIO) for these; say why. */
    if ((c->type != F_RDLCK && c->type != F_WRLCK) || c->start > c->end ||
        c->end > INT64_MAX) {
        fsp_log(t->fs, "unique=%llu GETLK: get_lock() reported a conflict "
                "of type %u over %llu-%llu, not a lock; replying EIO",
                (unsigned long long)t->in.unique, (unsigned)c->type,
                (unsigned long long)c->start, (unsigned long long)c->end);
        return -EIO;
    }
    out->start = c->start;
    out->end = c->end;
    out->type = c->type;
    out->pid = c->pid;
    return 0;
}

size_t fsp_encode_lk(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.lk;
    return sizeof t->out.lk;
}

/* SETLK and SETLKW: set_lock(), or flock() for FUSE_LK_FLOCK. */
int fsp_vol_setlk(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_lk_in *in = t->in.arg;
    bool wait = t->in.opcode == FUSE_SETLKW;
    fsp_lock_t lock;
    int err, op = LOCK_UN;

    err = lock_of(in, &lock);
    if (err)
        return err;
    if (in->lk_flags & FUSE_LK_FLOCK) {
        if (!fsp_volume_flock_locks(fs))
            return -ENOSYS;
        op = lock.type == F_RDLCK ? LOCK_SH
           : lock.type == F_WRLCK ? LOCK_EX : LOCK_UN;
        if (!wait)
            op |= LOCK_NB;
    } else if (!fsp_volume_posix_locks(fs)) {
        return -ENOSYS;
    }
    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    fsp_txn_rsp(t);
    if (in->lk_flags & FUSE_LK_FLOCK)
        return fsp_txn_called(t, fs->iface.flock(fs, t->handle->ctx,
                                                 in->owner, op));
    note_owner(fs, t->handle, in->owner, false);
    return fsp_txn_called(t, fs->iface.set_lock(fs, t->handle->ctx, &lock,
                                                wait ? FSP_LOCK_WAIT : 0));
}

/* set_lock(FSP_LOCK_CLOSE) of every lock of @owner on the file. */
static int unlock_all(struct fsp_txn *t, void *ctx, uint64_t owner)
{
    fsp_lock_t all = {
        .owner = owner, .start = 0, .end = INT64_MAX, .type = F_UNLCK,
    };

    fsp_txn_rsp(t);
    return fsp_txn_called(t, t->fs->iface.set_lock(t->fs, ctx, &all,
                                                   FSP_LOCK_CLOSE));
}

int fsp_volume_unlock_on_close(struct fsp_txn *t, void *ctx, uint64_t owner)
{
    note_owner(t->fs, t->handle, owner, true);
    return unlock_all(t, ctx, owner);
}

int fsp_volume_unlock_on_release(struct fsp_txn *t, struct fsp_handle *h)
{
    const struct fuse_release_in *in = t->in.arg;
    uint64_t owner;

    /* bits 0: the flock unlock is next; n > 0: n - 1 owners done. */
    if (t->bits == 0) {
        t->bits = 1;
        if ((in->release_flags & FUSE_RELEASE_FLOCK_UNLOCK) &&
            fsp_volume_flock_locks(t->fs)) {
            fsp_txn_rsp(t);
            return fsp_txn_called(t, t->fs->iface.flock(
                                         t->fs, h->ctx, in->lock_owner,
                                         LOCK_UN));
        }
    }
    if (!fsp_volume_posix_locks(t->fs) ||
        !unflushed_owner(t->fs, h, t->bits - 1, &owner))
        return 1;
    t->bits++;
    return unlock_all(t, h->ctx, owner);
}
