/*
 * notify.c - change notification: telling the kernel that what it cached
 * of a name, a file's attributes or a file's data is stale.
 *
 * fsp_fs_notify() resolves a path to the node ids the kernel knows (in
 * node_table.c) and queues one FUSE notification per thing to drop; a
 * thread of its own writes them to /dev/fuse. Why a queue: the kernel
 * handles FUSE_NOTIFY_INVAL_ENTRY under the directory's inode lock, which
 * the kernel may be holding while it waits for the reply to a request a
 * worker is serving. A callback that notified synchronously would wait
 * for a lock that waits for it. Queued, the notification waits for the
 * lock on the notify thread, while the worker finishes and replies.
 *
 * Lock order: the node table's lock, then the queue's. The notify thread
 * writes with neither held.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fs_internal.h"

/* One notification waiting to be written. */
struct notify_item {
    struct notify_item *next;
    int32_t code;               /* FUSE_NOTIFY_INVAL_ENTRY, _INODE, POLL */
    union {
        struct fuse_notify_inval_entry_out entry;
        struct fuse_notify_inval_inode_out inode;
        struct fuse_notify_poll_wakeup_out poll;
    } out;
    size_t out_size;
    char name[];                /* INVAL_ENTRY: the name and its NUL */
};

struct fsp_notifier {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct notify_item *head;
    struct notify_item **tail;
    bool stopping;
    pthread_t thread;
    struct fsp_fs *fs;
};

static void enqueue(struct fsp_fs *fs, struct notify_item *item)
{
    struct fsp_notifier *n = fs->notifier;

    item->next = NULL;
    pthread_mutex_lock(&n->lock);
    if (n->stopping) {
        /* The connection is going away: nothing left to invalidate. */
        pthread_mutex_unlock(&n->lock);
        free(item);
        return;
    }
    *n->tail = item;
    n->tail = &item->next;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->lock);
}

void fsp_notify_queue_entry(struct fsp_fs *fs, uint64_t parent,
                            const char *name)
{
    size_t len = strlen(name);
    struct notify_item *item;

    if (!fs->notifier)
        return;
    item = calloc(1, sizeof *item + len + 1);
    if (!item)
        return; /* the entry then lives until its timeout, as it would */
    item->code = FUSE_NOTIFY_INVAL_ENTRY;
    item->out.entry.parent = parent;
    item->out.entry.namelen = (uint32_t)len;
    item->out_size = sizeof item->out.entry;
    memcpy(item->name, name, len + 1);
    enqueue(fs, item);
}

void fsp_notify_queue_inode(struct fsp_fs *fs, uint64_t nodeid, bool data)
{
    struct notify_item *item;

    if (!fs->notifier)
        return;
    item = calloc(1, sizeof *item);
    if (!item)
        return;
    item->code = FUSE_NOTIFY_INVAL_INODE;
    item->out.inode.ino = nodeid;
    /* off < 0: attributes only; off 0, len 0: attributes and all data. */
    item->out.inode.off = data ? 0 : -1;
    item->out.inode.len = 0;
    item->out_size = sizeof item->out.inode;
    enqueue(fs, item);
}

/* FUSE_NOTIFY_POLL: nothing to resolve, no lock of the kernel's to wait
 * for; queued all the same, so that it keeps its place among the rest. */
static int queue_poll(struct fsp_fs *fs, uint64_t kh)
{
    struct notify_item *item = calloc(1, sizeof *item);

    if (!item)
        return -ENOMEM;
    item->code = FUSE_NOTIFY_POLL;
    item->out.poll.kh = kh;
    item->out_size = sizeof item->out.poll;
    enqueue(fs, item);
    return 0;
}

/* Write one notification. The kernel answers ENOENT when it has nothing
 * cached under that id or name: that is success for us. */
static void deliver(struct fsp_fs *fs, const struct notify_item *item)
{
    struct fuse_out_header hdr;
    struct iovec iov[3];
    int n = 0;
    int r;

    hdr.unique = 0; /* unique 0 marks a notification */
    hdr.error = item->code;
    iov[n].iov_base = &hdr;
    iov[n++].iov_len = sizeof hdr;
    iov[n].iov_base = (void *)&item->out;
    iov[n++].iov_len = item->out_size;
    if (item->code == FUSE_NOTIFY_INVAL_ENTRY) {
        iov[n].iov_base = (void *)item->name;
        iov[n++].iov_len = item->out.entry.namelen + 1;
    }
    hdr.len = 0;
    for (int i = 0; i < n; i++)
        hdr.len += (uint32_t)iov[i].iov_len;
    r = fs->kernel.notify ? fs->kernel.notify(fs->kernel.ctx, iov, n)
                          : -ENOTCONN;
    if (atomic_load_explicit(&fs->debug, memory_order_relaxed)) {
        if (item->code == FUSE_NOTIFY_POLL)
            fsp_log_debug(fs, "notify: poll kh=%llu: %s",
                    (unsigned long long)item->out.poll.kh,
                    r < 0 ? strerror(-r) : "done");
        else if (item->code == FUSE_NOTIFY_INVAL_ENTRY)
            fsp_log_debug(fs, "notify: inval entry %llu/%s: %s",
                    (unsigned long long)item->out.entry.parent, item->name,
                    r < 0 ? strerror(-r) : "done");
        else
            fsp_log_debug(fs, "notify: inval inode %llu%s: %s",
                    (unsigned long long)item->out.inode.ino,
                    item->out.inode.off < 0 ? " (attributes)"
                                            : " (attributes and data)",
                    r < 0 ? strerror(-r) : "done");
    }
}

static void *notify_main(void *arg)
{
    struct fsp_notifier *n = arg;
    struct fsp_fs *fs = n->fs;
    sigset_t all;

    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    pthread_mutex_lock(&n->lock);
    for (;;) {
        struct notify_item *item;

        while (!n->head && !n->stopping)
            pthread_cond_wait(&n->wake, &n->lock);
        item = n->head;
        if (!item)
            break; /* stopping, and nothing left */
        n->head = item->next;
        if (!n->head)
            n->tail = &n->head;
        pthread_mutex_unlock(&n->lock);
        /* After the stop the connection is gone: drop what is left. */
        if (!n->stopping)
            deliver(fs, item);
        free(item);
        pthread_mutex_lock(&n->lock);
    }
    pthread_mutex_unlock(&n->lock);
    return NULL;
}

int fsp_notify_start(struct fsp_fs *fs)
{
    struct fsp_notifier *n;
    int err;

    if (fs->notifier)
        return 0;
    n = calloc(1, sizeof *n);
    if (!n)
        return -ENOMEM;
    pthread_mutex_init(&n->lock, NULL);
    pthread_cond_init(&n->wake, NULL);
    n->tail = &n->head;
    n->fs = fs;
    err = -pthread_create(&n->thread, NULL, notify_main, n);
    if (!err) {
        /* Published last, with release: fsp_fs_notify() may be called
         * from a thread of the file system's before the volume runs. */
        __atomic_store_n(&fs->notifier, n, __ATOMIC_RELEASE);
    } else {
        pthread_cond_destroy(&n->wake);
        pthread_mutex_destroy(&n->lock);
        free(n);
    }
    return err;
}

void fsp_notify_stop(struct fsp_fs *fs)
{
    struct fsp_notifier *n = fs->notifier;
    bool join;

    if (!n)
        return;
    pthread_mutex_lock(&n->lock);
    join = !n->stopping;
    n->stopping = true;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->lock);
    if (join)
        pthread_join(n->thread, NULL);
}

void fsp_notify_fini(struct fsp_fs *fs)
{
    struct fsp_notifier *n = fs->notifier;

    if (!n)
        return;
    fsp_notify_stop(fs);
    fs->notifier = NULL;
    pthread_cond_destroy(&n->wake);
    pthread_mutex_destroy(&n->lock);
    free(n);
}

FSP_API int fsp_fs_notify(fsp_fs_t *fs, const char *path, unsigned what)
{
    unsigned all = FSP_NOTIFY_ENTRY | FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA;

    if (!fs || !path || path[0] != '/' || !what || (what & ~all))
        return -EINVAL;
    /* A notification racing the stop is harmless: enqueue() drops it. */
    if (!__atomic_load_n(&fs->notifier, __ATOMIC_ACQUIRE) ||
        atomic_load(&fs->stopping))
        return -ESHUTDOWN;
    return fsp_node_notify_path(fs, path, what);
}

FSP_API int fsp_fs_notify_poll(fsp_fs_t *fs, uint64_t kh)
{
    if (!fs || kh == 0)
        return -EINVAL;
    if (!__atomic_load_n(&fs->notifier, __ATOMIC_ACQUIRE) ||
        atomic_load(&fs->stopping))
        return -ESHUTDOWN;
    return queue_poll(fs, kh);
}
