/**
 * @file ptfs_lock.c
 * Locks, ioctl and poll passed to SOURCE: ptfs's locks are SOURCE's own
 * locks, so that they hold against processes that use SOURCE directly
 * too (and, where SOURCE is a network file system, against its other
 * clients).
 *
 * flock(2) locks belong to an open file, as ptfs's file contexts do: each
 * is flock() on the context's own descriptor.
 *
 * POSIX locks belong to an owner: a process (or, for F_OFD_ locks, an
 * open file) of the client, which may lock one file through several
 * descriptors. ptfs gives each (file, owner) pair a descriptor of its own
 * on SOURCE's file and sets F_OFD_ locks on it: an open file description
 * lock per owner behaves as that owner's POSIX locks (splitting, merging,
 * conflicts with everyone else, including classic POSIX locks of local
 * processes). The owner's close (FSP_LOCK_CLOSE) closes that descriptor,
 * which drops its locks.
 *
 * Waiting. The kernel offers no asynchronous wait for a lock, and a
 * worker must not block, so a lock that must wait is answered
 * FSP_PENDING and put on a list that a thread of ptfs's own tries again
 * every 10 ms (non-blocking); it answers when the lock is set, -EINTR when
 * its owner closes or ptfs stops. A grant the client no longer waits for
 * (fsp answered EINTR, fsp_fs_send_response() says -ECANCELED) is undone.
 *
 * F_GETLK: SOURCE reports an open file description lock with pid -1, so
 * ptfs finds which of its owners holds the conflict (the one whose own
 * test does not run into it) and reports the pid of that owner's last
 * lock request.
 *
 * Limits (docs/PTFS.md): a waiting lock is not queued fairly against
 * local waiters of SOURCE; F_GETLK reports pid 0 for an F_OFD_ lock of a
 * local process, and for a lock of a client's open file (F_OFD_ through
 * the mount) the pid that set it, not -1; the per-owner
 * descriptor is opened read-write, or else in the mode of the descriptor
 * the owner first locked through, so that an owner that locks for
 * writing through a later read-write descriptor may get EBADF.
 */
#define _GNU_SOURCE
#include "ptfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

/* One owner's descriptor for one file of SOURCE. */
struct owner_fd {
    struct owner_fd *next;
    dev_t dev;
    ino_t ino;
    uint64_t owner;
    uint32_t pid;           /* of its last lock request */
    int fd;
};

/* One lock that waits. */
struct waiter {
    struct waiter *next;
    uint64_t hint;
    int fd;                 /* an owner_fd's, or the file context's */
    bool is_flock;
    int flock_op;           /* with LOCK_NB */
    struct flock fl;        /* F_OFD_SETLK's */
    dev_t dev;
    ino_t ino;
    uint64_t owner;
};

struct ptfs_locks {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct owner_fd *owners;
    struct waiter *waiters;
    bool thread_started, stopping;
    pthread_t thread;
    fsp_fs_t *fs;
};

int ptfs_locks_create(struct ptfs *p)
{
    p->locks = calloc(1, sizeof *p->locks);
    if (!p->locks)
        return -ENOMEM;
    pthread_mutex_init(&p->locks->lock, NULL);
    pthread_cond_init(&p->locks->wake, NULL);
    return 0;
}

static bool answer(fsp_fs_t *fs, uint64_t hint, int error)
{
    fsp_response_t rsp;

    memset(&rsp, 0, sizeof rsp);
    rsp.hint = hint;
    rsp.error = error;
    return fsp_fs_send_response(fs, &rsp) == 0;
}

/* Try @w once, without waiting: 0 (set), -EAGAIN (still held), -errno. */
static int try_waiter(const struct waiter *w)
{
    if (w->is_flock)
        return flock(w->fd, w->flock_op) == 0 ? 0 : -errno;
    return fcntl(w->fd, F_OFD_SETLK, &w->fl) == 0 ? 0 : -errno;
}

/* Undo a grant nobody waits for any more. */
static void undo(const struct waiter *w)
{
    struct flock none = w->fl;

    if (w->is_flock) {
        flock(w->fd, LOCK_UN);
        return;
    }
    none.l_type = F_UNLCK;
    fcntl(w->fd, F_OFD_SETLK, &none);
}

static void *retry_main(void *arg)
{
    struct ptfs_locks *t = arg;
    struct timespec tick = {0, 10 * 1000 * 1000};

    pthread_mutex_lock(&t->lock);
    while (!t->stopping) {
        struct waiter **link = &t->waiters, *w;

        while ((w = *link) != NULL) {
            int err = try_waiter(w);

            if (err == -EAGAIN || err == -EWOULDBLOCK || err == -EACCES) {
                link = &w->next;
                continue;
            }
            *link = w->next;
            if (!answer(t->fs, w->hint, err) && err == 0)
                undo(w);
            free(w);
        }
        if (!t->waiters) {
            pthread_cond_wait(&t->wake, &t->lock);
            continue;
        }
        pthread_mutex_unlock(&t->lock);
        nanosleep(&tick, NULL);
        pthread_mutex_lock(&t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    return NULL;
}

/* Queue @w (allocated by the caller); FSP_PENDING or -ENOLCK. (lock held) */
static int queue(struct ptfs_locks *t, fsp_fs_t *fs, struct waiter *w)
{
    struct waiter **link;

    if (!t->thread_started) {
        t->fs = fs;
        if (pthread_create(&t->thread, NULL, retry_main, t) != 0) {
            free(w);
            return -ENOLCK;
        }
        t->thread_started = true;
    }
    w->hint = fsp_fs_operation_context()->hint;
    for (link = &t->waiters; *link; link = &(*link)->next)
        ;
    *link = w;
    pthread_cond_signal(&t->wake);
    return FSP_PENDING;
}

/* End the waits of @owner (on the file dev/ino, or its flock waits on
 * @fd) with EINTR. (lock held) */
static void cancel(struct ptfs_locks *t, fsp_fs_t *fs, bool is_flock,
                   int fd, dev_t dev, ino_t ino, uint64_t owner)
{
    struct waiter **link = &t->waiters, *w;

    while ((w = *link) != NULL) {
        bool mine = is_flock ? w->is_flock && w->fd == fd
                             : !w->is_flock && w->dev == dev &&
                                   w->ino == ino && w->owner == owner;

        if (!mine) {
            link = &w->next;
            continue;
        }
        *link = w->next;
        answer(fs, w->hint, -EINTR);
        free(w);
    }
}

void ptfs_locks_delete(struct ptfs *p)
{
    struct ptfs_locks *t = p->locks;

    if (!t)
        return;
    pthread_mutex_lock(&t->lock);
    t->stopping = true;
    while (t->waiters) {
        struct waiter *w = t->waiters;

        t->waiters = w->next;
        answer(t->fs, w->hint, -EINTR);
        free(w);
    }
    pthread_cond_signal(&t->wake);
    pthread_mutex_unlock(&t->lock);
    if (t->thread_started)
        pthread_join(t->thread, NULL);
    while (t->owners) {
        struct owner_fd *o = t->owners;

        t->owners = o->next;
        close(o->fd);
        free(o);
    }
    pthread_cond_destroy(&t->wake);
    pthread_mutex_destroy(&t->lock);
    free(t);
    p->locks = NULL;
}

/* The descriptor of @owner for the file of @f, made if @make. (lock held)
 * Returns it, or -errno (-ENOENT: none and not made). */
static int owner_fd(struct ptfs_locks *t, const struct ptfs_file *f,
                    uint64_t owner, bool make, dev_t *dev, ino_t *ino)
{
    struct owner_fd *o;
    struct stat st;
    char path[32];
    int fd;

    if (f->fd < 0 || f->is_path)
        return -EBADF;
    if (fstat(f->fd, &st) < 0)
        return -errno;
    *dev = st.st_dev;
    *ino = st.st_ino;
    for (o = t->owners; o; o = o->next)
        if (o->dev == st.st_dev && o->ino == st.st_ino && o->owner == owner)
            return o->fd;
    if (!make)
        return -ENOENT;
    ptfs_fd_path(f->fd, path);
    fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        fd = open(path, (fcntl(f->fd, F_GETFL) & O_ACCMODE) | O_CLOEXEC |
                        O_NOCTTY);
    if (fd < 0)
        return -errno;
    o = calloc(1, sizeof *o);
    if (!o) {
        close(fd);
        return -ENOLCK;
    }
    o->dev = st.st_dev;
    o->ino = st.st_ino;
    o->owner = owner;
    o->fd = fd;
    o->next = t->owners;
    t->owners = o;
    return fd;
}

/* The pid of the last lock request on the owner descriptor @fd. */
static void set_pid(struct ptfs_locks *t, int fd, uint32_t pid)
{
    for (struct owner_fd *o = t->owners; o; o = o->next)
        if (o->fd == fd)
            o->pid = pid;
}

/* Close @owner's descriptor for dev/ino: its locks go. (lock held) */
static void drop_owner(struct ptfs_locks *t, dev_t dev, ino_t ino,
                       uint64_t owner)
{
    for (struct owner_fd **link = &t->owners; *link; link = &(*link)->next) {
        struct owner_fd *o = *link;

        if (o->dev == dev && o->ino == ino && o->owner == owner) {
            *link = o->next;
            close(o->fd);
            free(o);
            return;
        }
    }
}

/* The pid of the owner of ours that holds @c on dev/ino, asked by
 * @asker; 0 if none of ours does. (lock held) */
static uint32_t holder_pid(struct ptfs_locks *t, dev_t dev, ino_t ino,
                           uint64_t asker, const struct flock *c)
{
    for (const struct owner_fd *o = t->owners; o; o = o->next) {
        struct flock probe = *c;

        if (o->dev != dev || o->ino != ino || o->owner == asker)
            continue;
        probe.l_type = F_WRLCK;
        probe.l_pid = 0;
        if (fcntl(o->fd, F_OFD_GETLK, &probe) < 0)
            continue;
        /* its own locks never conflict with it: if it no longer runs
         * into exactly @c, @c is its */
        if (probe.l_type == F_UNLCK || probe.l_start != c->l_start ||
            probe.l_len != c->l_len || probe.l_type != c->l_type)
            return o->pid;
    }
    return 0;
}

static void to_flock(const fsp_lock_t *lock, struct flock *fl)
{
    memset(fl, 0, sizeof *fl);
    fl->l_type = (short)lock->type;
    fl->l_whence = SEEK_SET;
    fl->l_start = (off_t)lock->start;
    /* l_len 0: to the end of the file, however long it grows */
    fl->l_len = lock->end >= INT64_MAX ? 0
                                       : (off_t)(lock->end - lock->start + 1);
}

int ptfs_op_get_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                     fsp_lock_t *conflict)
{
    struct ptfs_locks *t = ptfs_of(fs)->locks;
    struct flock fl;
    bool temporary = false;
    dev_t dev;
    ino_t ino;
    int fd, err = 0;

    to_flock(lock, &fl);
    pthread_mutex_lock(&t->lock);
    /* An owner without locks tests from a descriptor of its own too,
     * which goes again afterwards (nothing would ever close it). */
    fd = owner_fd(t, file_ctx, lock->owner, false, &dev, &ino);
    if (fd == -ENOENT) {
        temporary = true;
        fd = owner_fd(t, file_ctx, lock->owner, true, &dev, &ino);
    }
    if (fd < 0)
        err = fd;
    else if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
        err = -errno;
    if (err == 0 && fl.l_type != F_UNLCK) {
        conflict->type = (uint32_t)fl.l_type;
        conflict->start = (uint64_t)fl.l_start;
        conflict->end = fl.l_len == 0 ? INT64_MAX
                                      : (uint64_t)(fl.l_start + fl.l_len - 1);
        conflict->pid = fl.l_pid > 0 ? (uint32_t)fl.l_pid
                                     : holder_pid(t, dev, ino, lock->owner,
                                                  &fl);
    }
    if (temporary && fd >= 0)
        drop_owner(t, dev, ino, lock->owner);
    pthread_mutex_unlock(&t->lock);
    return err;
}

int ptfs_op_set_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                     unsigned flags)
{
    struct ptfs_locks *t = ptfs_of(fs)->locks;
    struct waiter *w;
    struct flock fl;
    dev_t dev;
    ino_t ino;
    int fd, err = 0;

    to_flock(lock, &fl);
    pthread_mutex_lock(&t->lock);
    fd = owner_fd(t, file_ctx, lock->owner, lock->type != F_UNLCK, &dev,
                  &ino);
    if (flags & FSP_LOCK_CLOSE) {
        if (fd >= 0 || fd == -ENOENT) {
            cancel(t, fs, false, -1, dev, ino, lock->owner);
            drop_owner(t, dev, ino, lock->owner);
        }
        goto out;
    }
    if (fd == -ENOENT)
        goto out;           /* an unlock of an owner with no locks */
    if (fd < 0) {
        err = fd;
        goto out;
    }
    if (lock->type != F_UNLCK)
        set_pid(t, fd, lock->pid);
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0)
        goto out;
    err = errno == EACCES ? -EAGAIN : -errno;
    if (err != -EAGAIN || !(flags & FSP_LOCK_WAIT))
        goto out;
    w = calloc(1, sizeof *w);
    if (!w) {
        err = -ENOLCK;
        goto out;
    }
    w->fd = fd;
    w->fl = fl;
    w->dev = dev;
    w->ino = ino;
    w->owner = lock->owner;
    err = queue(t, fs, w);
out:
    pthread_mutex_unlock(&t->lock);
    return err;
}

int ptfs_op_flock(fsp_fs_t *fs, void *file_ctx, uint64_t owner,
                  int operation)
{
    struct ptfs_locks *t = ptfs_of(fs)->locks;
    const struct ptfs_file *f = file_ctx;
    struct waiter *w;
    int err = 0;

    (void)owner;            /* the file context is the open file */
    if (f->fd < 0 || f->is_path)
        return -EBADF;
    pthread_mutex_lock(&t->lock);
    if ((operation & ~LOCK_NB) == LOCK_UN)
        cancel(t, fs, true, f->fd, 0, 0, 0);
    if (flock(f->fd, operation | LOCK_NB) == 0)
        goto out;
    err = -errno;
    if (err != -EWOULDBLOCK || (operation & LOCK_NB))
        goto out;
    w = calloc(1, sizeof *w);
    if (!w) {
        err = -ENOLCK;
        goto out;
    }
    w->fd = f->fd;
    w->is_flock = true;
    w->flock_op = operation | LOCK_NB;
    err = queue(t, fs, w);
out:
    pthread_mutex_unlock(&t->lock);
    return err;
}

/* ioctl @cmd with an argument of @size bytes that comes back (@out) or
 * goes in (@in), on SOURCE's descriptor @fd. */
static int pass_ioctl(int fd, uint32_t cmd, size_t size, const void *in,
                      size_t in_size, void *out, size_t out_size,
                      size_t *bytes_transferred)
{
    union {
        int flags;
        struct fsxattr fa;
    } arg;

    memset(&arg, 0, sizeof arg);
    if (in) {
        if (in_size < size)
            return -EINVAL;
        memcpy(&arg, in, size);
    }
    if (out && out_size < size)
        return -EINVAL;
    if (ioctl(fd, cmd, &arg) < 0)
        return -errno;
    if (out) {
        memcpy(out, &arg, size);
        *bytes_transferred = size;
    }
    return 0;
}

/* The file attribute flags and the xfs-style attributes, as SOURCE has
 * them; other commands are nobody's business but SOURCE's driver's, and
 * a client's argument could not be checked: ENOTTY. */
int ptfs_op_ioctl(fsp_fs_t *fs, void *file_ctx, uint32_t cmd,
                  const void *in, size_t in_size, void *out, size_t out_size,
                  size_t *bytes_transferred)
{
    const struct ptfs_file *f = file_ctx;

    (void)fs;
    if (f->fd < 0 || f->is_path)
        return -EBADF;
    switch (cmd) {
    case FS_IOC_GETFLAGS:       /* an int, whatever the command says */
        return pass_ioctl(f->fd, cmd, sizeof(int), NULL, 0, out, out_size,
                          bytes_transferred);
    case FS_IOC_SETFLAGS:
        return pass_ioctl(f->fd, cmd, sizeof(int), in, in_size, NULL, 0,
                          bytes_transferred);
    case FS_IOC_FSGETXATTR:
        return pass_ioctl(f->fd, cmd, sizeof(struct fsxattr), NULL, 0, out,
                          out_size, bytes_transferred);
    case FS_IOC_FSSETXATTR:
        return pass_ioctl(f->fd, cmd, sizeof(struct fsxattr), in, in_size,
                          NULL, 0, bytes_transferred);
    default:
        return -ENOTTY;
    }
}

/* What SOURCE's file is ready for now. The kernel's poll handle is not
 * kept: regular files and directories, what ptfs serves, never wait. */
int ptfs_op_poll(fsp_fs_t *fs, void *file_ctx, uint64_t kh, uint32_t events,
                 uint32_t *revents)
{
    const struct ptfs_file *f = file_ctx;
    struct pollfd pfd = { .fd = f->fd, .events = (short)events };

    (void)fs;
    (void)kh;
    if (f->fd < 0 || f->is_path)
        return -EBADF;
    if (poll(&pfd, 1, 0) < 0)
        return -errno;
    *revents = (uint32_t)(uint16_t)pfd.revents;
    return 0;
}
