/**
 * @file memfs_locks.c
 * memfs's own lock table: POSIX byte-range locks (fcntl(2)) and flock(2)
 * locks, served by the file system instead of the kernel (the callbacks
 * get_lock, set_lock and flock), as a network file system must.
 *
 * Each node keeps a list of the locks held on it. A POSIX lock belongs
 * to an owner (a process, or an open file for F_OFD_ locks); an owner's
 * locks never overlap: a new one replaces, over its range, what the
 * owner held there, splitting what it cuts and merging with its
 * neighbours of the same type. A flock lock covers the whole file and
 * belongs to an open file. The two kinds never conflict with each other
 * (Linux's rule); within a kind, locks of different owners conflict
 * unless both are read (shared) locks.
 *
 * A request that must wait (F_SETLKW, flock without LOCK_NB) is queued
 * and answered FSP_PENDING; every change that drops or weakens a lock
 * looks at the queue, in order, and grants what no longer conflicts: the
 * response goes first, and the lock is recorded only if fsp took it
 * (fsp_fs_send_response() answers -ECANCELED for a request the caller
 * gave up on, interrupted by a signal, which fsp answered EINTR). A close
 * (FSP_LOCK_CLOSE, flock LOCK_UN) ends its owner's waits with EINTR, so
 * that no request the caller has left stays behind. The last close of a
 * node drops whatever is left on it (F_OFD_ locks, which no FLUSH
 * names).
 *
 * One mutex of its own guards the lists and the queue; it nests inside
 * the volume's lock where both are taken (never the other way). No
 * deadlock detection (EDEADLK): a cycle of waiters waits until a signal.
 */
#define _GNU_SOURCE
#include "memfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>

/* One lock held on a node. */
struct memfs_lock {
    struct memfs_lock *next;
    uint64_t owner;
    uint64_t start, end;        /* inclusive */
    uint32_t type;              /* F_RDLCK or F_WRLCK */
    uint32_t pid;
    bool flock;
};

/* One request waiting for its lock. */
struct memfs_lock_wait {
    struct memfs_lock_wait *next;
    struct memfs_node *node;
    struct memfs_lock want;
    uint64_t hint;              /* the request, for fsp_fs_send_response() */
};

struct memfs_locks {
    pthread_mutex_t lock;
    struct memfs_lock_wait *waits;  /* oldest first */
};

static void free_list(struct memfs_lock *l);

int memfs_locks_create(struct memfs *m)
{
    m->locks = calloc(1, sizeof *m->locks);
    if (!m->locks)
        return -ENOMEM;
    pthread_mutex_init(&m->locks->lock, NULL);
    return 0;
}

void memfs_locks_free_node(struct memfs_node *node)
{
    free_list(node->locks);
    node->locks = NULL;
}

void memfs_locks_delete(struct memfs *m)
{
    if (!m->locks)
        return;
    /* fsp_fs_delete() has freed the requests still pending. */
    while (m->locks->waits) {
        struct memfs_lock_wait *w = m->locks->waits;

        m->locks->waits = w->next;
        free(w);
    }
    pthread_mutex_destroy(&m->locks->lock);
    free(m->locks);
    m->locks = NULL;
}

static bool overlap(const struct memfs_lock *a, const struct memfs_lock *b)
{
    return a->start <= b->end && b->start <= a->end;
}

/* A lock of another owner that keeps @want from being set, or NULL. */
static const struct memfs_lock *conflict_of(const struct memfs_node *node,
                                            const struct memfs_lock *want)
{
    for (const struct memfs_lock *l = node->locks; l; l = l->next) {
        if (l->owner == want->owner || l->flock != want->flock)
            continue;
        if (l->type == F_RDLCK && want->type == F_RDLCK)
            continue;
        if (overlap(l, want))
            return l;
    }
    return NULL;
}

static struct memfs_lock *new_lock(const struct memfs_lock *from,
                                   uint64_t start, uint64_t end)
{
    struct memfs_lock *l = malloc(sizeof *l);

    if (l) {
        *l = *from;
        l->start = start;
        l->end = end;
        l->next = NULL;
    }
    return l;
}

static void free_list(struct memfs_lock *l)
{
    while (l) {
        struct memfs_lock *next = l->next;

        free(l);
        l = next;
    }
}

/*
 * The list of @node's locks once @want (type F_UNLCK: a removal) is set
 * for its owner: what the owner holds of the same kind over the range
 * goes, the pieces outside it stay, and locks of the same type that touch
 * it merge into it. Built apart, so that nothing changes until commit().
 * Returns 0 or -ENOLCK (no memory).
 */
static int build(const struct memfs_node *node, const struct memfs_lock *want,
                 struct memfs_lock **out)
{
    struct memfs_lock *kept = NULL, **tail = &kept, *piece;
    struct memfs_lock merged = *want;
    bool ok = true;

#define KEEP(from, s, e)                  \
    do {                                  \
        piece = new_lock(from, s, e);     \
        ok = ok && piece;                 \
        if (piece) {                      \
            *tail = piece;                \
            tail = &piece->next;          \
        }                                 \
    } while (0)

    for (const struct memfs_lock *l = node->locks; l; l = l->next) {
        bool mine = l->owner == want->owner && l->flock == want->flock;
        bool touches = l->start <= want->end + 1 && want->start <= l->end + 1;

        if (!mine) {
            KEEP(l, l->start, l->end);
        } else if (want->flock) {
            continue;           /* a flock lock is replaced whole */
        } else if (want->type == l->type && touches) {
            if (l->start < merged.start)
                merged.start = l->start;
            if (l->end > merged.end)
                merged.end = l->end;
        } else if (overlap(l, want)) {
            if (l->start < want->start)
                KEEP(l, l->start, want->start - 1);
            if (l->end > want->end)
                KEEP(l, want->end + 1, l->end);
        } else {
            KEEP(l, l->start, l->end);
        }
    }
    if (want->type != F_UNLCK)
        KEEP(&merged, merged.start, merged.end);
#undef KEEP
    if (!ok) {
        free_list(kept);
        return -ENOLCK;
    }
    *out = kept;
    return 0;
}

static void commit(struct memfs_node *node, struct memfs_lock *list)
{
    free_list(node->locks);
    node->locks = list;
}

/* build() and commit() at once. */
static int apply(struct memfs_node *node, const struct memfs_lock *want)
{
    struct memfs_lock *list;
    int err = build(node, want, &list);

    if (err == 0)
        commit(node, list);
    return err;
}

/* Answer the queued request @w with @error; true if fsp took it. */
static bool answer(fsp_fs_t *fs, const struct memfs_lock_wait *w, int error)
{
    fsp_response_t rsp;

    memset(&rsp, 0, sizeof rsp);
    rsp.hint = w->hint;
    rsp.error = error;
    return fsp_fs_send_response(fs, &rsp) == 0;
}

/*
 * After a change on @node: grant, oldest first, the waits it no longer
 * blocks; with @cancel_owner, end that owner's waits (of the kind
 * @cancel_flock) with EINTR. (m->locks->lock held)
 */
static void wake(fsp_fs_t *fs, struct memfs_locks *t, struct memfs_node *node,
                 bool cancel, uint64_t cancel_owner, bool cancel_flock)
{
    struct memfs_lock_wait **link = &t->waits, *w;

    while ((w = *link) != NULL) {
        if (w->node != node) {
            link = &w->next;
            continue;
        }
        if (cancel && w->want.owner == cancel_owner &&
            w->want.flock == cancel_flock) {
            answer(fs, w, -EINTR);
        } else if (conflict_of(node, &w->want)) {
            link = &w->next;
            continue;
        } else {
            struct memfs_lock *list;
            int err = build(node, &w->want, &list);

            /* Answered first, recorded only if the caller still waits:
             * no other request can look in between (the mutex is held). */
            if (answer(fs, w, err) && err == 0)
                commit(node, list);
            else if (err == 0)
                free_list(list);
        }
        *link = w->next;
        free(w);
        /* A grant may block others again, a cancel unblocks nothing new:
         * the scan goes on from here in both cases. */
    }
}

/* Queue @want on @node; FSP_PENDING, or -ENOLCK. (mutex held) */
static int queue(struct memfs_locks *t, struct memfs_node *node,
                 const struct memfs_lock *want)
{
    struct memfs_lock_wait *w = calloc(1, sizeof *w), **link;

    if (!w)
        return -ENOLCK;
    w->node = node;
    w->want = *want;
    w->hint = fsp_fs_operation_context()->hint;
    for (link = &t->waits; *link; link = &(*link)->next)
        ;
    *link = w;
    return FSP_PENDING;
}

/* Set or remove @want on @node: the common part of set_lock and flock. */
static int set(fsp_fs_t *fs, struct memfs_node *node,
               const struct memfs_lock *want, bool wait, bool close)
{
    struct memfs_locks *t = memfs_of(fs)->locks;
    int err = 0;

    pthread_mutex_lock(&t->lock);
    if (want->type != F_UNLCK && conflict_of(node, want)) {
        err = wait ? queue(t, node, want) : -EAGAIN;
        goto out;
    }
    err = apply(node, want);
    if (err == 0)
        wake(fs, t, node, close, want->owner, want->flock);
out:
    pthread_mutex_unlock(&t->lock);
    return err;
}

int memfs_op_get_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                      fsp_lock_t *conflict)
{
    struct memfs_locks *t = memfs_of(fs)->locks;
    struct memfs_node *node = file_ctx;
    struct memfs_lock want = {
        .owner = lock->owner, .start = lock->start, .end = lock->end,
        .type = lock->type, .pid = lock->pid,
    };
    const struct memfs_lock *c;

    pthread_mutex_lock(&t->lock);
    c = conflict_of(node, &want);
    if (c) {
        conflict->owner = c->owner;
        conflict->start = c->start;
        conflict->end = c->end;
        conflict->type = c->type;
        conflict->pid = c->pid;
    }
    pthread_mutex_unlock(&t->lock);
    return 0;
}

int memfs_op_set_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                      unsigned flags)
{
    struct memfs_lock want = {
        .owner = lock->owner, .start = lock->start, .end = lock->end,
        .type = lock->type, .pid = lock->pid,
    };

    return set(fs, file_ctx, &want, flags & FSP_LOCK_WAIT,
               flags & FSP_LOCK_CLOSE);
}

int memfs_op_flock(fsp_fs_t *fs, void *file_ctx, uint64_t owner,
                   int operation)
{
    int how = operation & ~LOCK_NB;
    struct memfs_lock want = {
        .owner = owner, .start = 0, .end = INT64_MAX, .flock = true,
        .pid = fsp_fs_operation_context()->pid,
    };

    if (how == LOCK_SH)
        want.type = F_RDLCK;
    else if (how == LOCK_EX)
        want.type = F_WRLCK;
    else if (how == LOCK_UN)
        want.type = F_UNLCK;
    else
        return -EINVAL;
    /* flock(2) converts by letting go first: others waiting may get in. */
    if (want.type != F_UNLCK) {
        struct memfs_lock none = want;

        none.type = F_UNLCK;
        pthread_mutex_lock(&memfs_of(fs)->locks->lock);
        for (struct memfs_lock *l = ((struct memfs_node *)file_ctx)->locks;
             l; l = l->next) {
            if (l->flock && l->owner == owner && l->type != want.type) {
                if (apply(file_ctx, &none) == 0)
                    wake(fs, memfs_of(fs)->locks, file_ctx, false, 0, true);
                break;
            }
        }
        pthread_mutex_unlock(&memfs_of(fs)->locks->lock);
    }
    return set(fs, file_ctx, &want, !(operation & LOCK_NB), how == LOCK_UN);
}

void memfs_locks_last_close(struct memfs *m, struct memfs_node *node)
{
    if (!m->locks)
        return;
    pthread_mutex_lock(&m->locks->lock);
    memfs_locks_free_node(node);
    pthread_mutex_unlock(&m->locks->lock);
}
