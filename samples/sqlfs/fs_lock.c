/**
 * @file fs_lock.c
 * fcntl(2) and flock(2) locks, on a backend that serves them across the
 * mounts of one database (PostgreSQL: backend.h's lock_test and
 * lock_set). On SQLite, which one mount uses at a time, the callbacks are
 * not set and the kernel keeps the locks itself.
 *
 * The callbacks only translate: the lock is the backend's, a wait
 * (F_SETLKW, flock without LOCK_NB) is the backend's queue, answered
 * FSP_PENDING here and completed by lock_answered() when the backend
 * grants it or ends it.
 */
#define _GNU_SOURCE

#include "sqlfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>

/* The answer to a waiting lock request (sqlfs_lock_done_fn). */
static bool lock_answered(void *context, uint64_t hint, int error)
{
    struct sqlfs *s = context;
    fsp_response_t rsp;
    bool taken = false;

    memset(&rsp, 0, sizeof rsp);
    rsp.hint = hint;
    rsp.error = error;
    pthread_mutex_lock(&s->fs_lock);
    if (s->fs)
        taken = fsp_fs_send_response(s->fs, &rsp) == 0;
    pthread_mutex_unlock(&s->fs_lock);
    return taken;
}

/* Set @p want on @p node's inode, waiting (FSP_PENDING) with @p flags'
 * SQLFS_LOCK_WAIT. */
static int set(fsp_fs_t *fs, struct sqlfs_node *node,
               const struct sqlfs_lock *want, unsigned flags)
{
    struct sqlfs *s = sqlfs_of(fs);
    int err;

    err = s->db->lock_set(s->backend, node->ino, want, flags, lock_answered,
                          s, fsp_fs_operation_context()->hint);
    return err == SQLFS_LOCK_QUEUED ? FSP_PENDING : err;
}

static struct sqlfs_lock lock_of(const fsp_lock_t *lock)
{
    struct sqlfs_lock l = {
        .owner = lock->owner, .start = lock->start, .end = lock->end,
        .type = lock->type, .pid = lock->pid,
    };
    return l;
}

static int op_get_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                       fsp_lock_t *conflict)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct sqlfs_lock want = lock_of(lock), c;
    int err;

    err = s->db->lock_test(s->backend, node->ino, &want, &c);
    if (err == 0 && c.type != F_UNLCK) {
        conflict->owner = c.owner;
        conflict->start = c.start;
        conflict->end = c.end;
        conflict->type = c.type;
        conflict->pid = c.pid;
    }
    return err;
}

static int op_set_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                       unsigned flags)
{
    struct sqlfs_lock want = lock_of(lock);

    return set(fs, file_ctx, &want,
               (flags & FSP_LOCK_WAIT ? SQLFS_LOCK_WAIT : 0) |
                   (flags & FSP_LOCK_CLOSE ? SQLFS_LOCK_CLOSE : 0));
}

static int op_flock(fsp_fs_t *fs, void *file_ctx, uint64_t owner,
                    int operation)
{
    struct sqlfs_lock want = {
        .owner = owner, .start = 0, .end = INT64_MAX, .flock = true,
        .pid = fsp_fs_operation_context()->pid,
    };
    int how = operation & ~LOCK_NB;
    unsigned flags = 0;

    if (how == LOCK_SH)
        want.type = F_RDLCK;
    else if (how == LOCK_EX)
        want.type = F_WRLCK;
    else if (how == LOCK_UN)
        want.type = F_UNLCK;
    else
        return -EINVAL;
    /* LOCK_UN comes with the release of the open file: its waits end. */
    if (how == LOCK_UN)
        flags = SQLFS_LOCK_CLOSE;
    else if (!(operation & LOCK_NB))
        flags = SQLFS_LOCK_WAIT;
    return set(fs, file_ctx, &want, flags);
}

void sqlfs_lock_callbacks(const struct sqlfs *s, fsp_fs_interface_t *iface)
{
    if (!s->db->lock_set)
        return; /* the kernel's locks, local to the one mount */
    iface->get_lock = op_get_lock;
    iface->set_lock = op_set_lock;
    iface->flock = op_flock;
}

bool sqlfs_serves_locks(const char *database)
{
    const char *why;
    const struct sqlfs_backend_ops *ops = sqlfs_backend_for(database, &why);

    return ops && ops->lock_set;
}
