/*
 * notify.c - change notification: telling the kernel that what it cached
 * of a name, a file's attributes or a file's data is stale, handing it
 * data (store), asking for what it holds (retrieve), and letting it
 * forget (delete, prune, a new epoch).
 *
 * The public calls resolve a path to the node ids the kernel knows (in
 * node_table.c) and queue one FUSE notification per thing to tell; a
 * thread of its own writes them to /dev/fuse. Why a queue: the kernel
 * handles FUSE_NOTIFY_INVAL_ENTRY under the directory's inode lock, and
 * FUSE_NOTIFY_STORE under page locks, which the kernel may be holding
 * while it waits for the reply to a request a worker is serving. A
 * callback that notified synchronously would wait for a lock that waits
 * for it. Queued, the notification waits on the notify thread, while the
 * worker finishes and replies.
 *
 * A retrieve is answered by a NOTIFY_REPLY request carrying the kernel's
 * pages; its waiter, registered before the notification is written, is
 * found by the notification's unique id (fsp_notify_retrieve_reply).
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
#include "txn.h"
#include "volume.h"

/* FUSE_NOTIFY_INC_EPOCH and FUSE_NOTIFY_PRUNE need these minors. */
#define EPOCH_MINOR 44
#define PRUNE_MINOR 45
/* Retrieve ids: apart from the kernel's request ids, which count up from
 * small numbers; a NOTIFY_REPLY names ours. */
#define FIRST_RETRIEVE_ID (1ULL << 62)

/* A retrieve waiting for the kernel's NOTIFY_REPLY. */
struct retrieve_wait {
    struct retrieve_wait *next;
    uint64_t unique;
    fsp_retrieve_done_t *done;
    void *ctx;
};

/* One notification waiting to be written. */
struct notify_item {
    struct notify_item *next;
    int32_t code;               /* FUSE_NOTIFY_* */
    union {
        struct fuse_notify_inval_entry_out entry;
        struct fuse_notify_inval_inode_out inode;
        struct fuse_notify_delete_out del;
        struct fuse_notify_store_out store;
        struct fuse_notify_retrieve_out retrieve;
        struct fuse_notify_prune_out prune;
        struct fuse_notify_poll_wakeup_out poll;
    } out;
    size_t out_size;            /* 0 for INC_EPOCH, which has no body */
    size_t tail_size;           /* bytes of tail[] sent after out */
    char tail[];                /* INVAL_ENTRY, DELETE: the name and its
                                   NUL; STORE: the data; PRUNE: node ids */
};

struct fsp_notifier {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct notify_item *head;
    struct notify_item **tail;
    struct retrieve_wait *retrieves; /* waiting for NOTIFY_REPLY */
    uint64_t next_retrieve;
    bool stopping;
    pthread_t thread;
    struct fsp_fs *fs;
};

static void deliver(struct fsp_fs *fs, const struct notify_item *item);
static int running(struct fsp_fs *fs);

static struct notify_item *new_item(int32_t code, size_t out_size,
                                    const void *tail, size_t tail_size)
{
    struct notify_item *item = calloc(1, sizeof *item + tail_size);

    if (!item)
        return NULL;
    item->code = code;
    item->out_size = out_size;
    item->tail_size = tail_size;
    if (tail_size)
        memcpy(item->tail, tail, tail_size);
    return item;
}

/* Queue @item (taking it). Returns 0, or -ESHUTDOWN when the connection
 * is going away (the item is dropped: nothing is left to tell). */
static int enqueue(struct fsp_fs *fs, struct notify_item *item)
{
    struct fsp_notifier *n = fs->notifier;

    item->next = NULL;
    pthread_mutex_lock(&n->lock);
    if (n->stopping) {
        pthread_mutex_unlock(&n->lock);
        free(item);
        return -ESHUTDOWN;
    }
    *n->tail = item;
    n->tail = &item->next;
    pthread_cond_signal(&n->wake);
    pthread_mutex_unlock(&n->lock);
    return 0;
}

void fsp_notify_queue_entry(struct fsp_fs *fs, uint64_t parent,
                            const char *name)
{
    size_t len = strlen(name);
    struct notify_item *item;

    if (!fs->notifier)
        return;
    item = new_item(FUSE_NOTIFY_INVAL_ENTRY, sizeof item->out.entry, name,
                    len + 1);
    if (!item)
        return; /* the entry then lives until its timeout, as it would */
    item->out.entry.parent = parent;
    item->out.entry.namelen = (uint32_t)len;
    enqueue(fs, item);
}

void fsp_notify_queue_inode(struct fsp_fs *fs, uint64_t nodeid, bool data)
{
    struct notify_item *item;

    if (!fs->notifier)
        return;
    item = new_item(FUSE_NOTIFY_INVAL_INODE, sizeof item->out.inode, NULL,
                    0);
    if (!item)
        return;
    item->out.inode.ino = nodeid;
    /* off < 0: attributes only; off 0, len 0: attributes and all data. */
    item->out.inode.off = data ? 0 : -1;
    item->out.inode.len = 0;
    enqueue(fs, item);
}

void fsp_notify_inode_attributes_now(struct fsp_fs *fs, uint64_t nodeid)
{
    struct notify_item item = { .code = FUSE_NOTIFY_INVAL_INODE,
                                .out_size = sizeof item.out.inode };

    if (running(fs) != 0)
        return;
    item.out.inode.ino = nodeid;
    item.out.inode.off = -1; /* attributes only: no page lock to wait for */
    deliver(fs, &item);
}

static int queue_delete(struct fsp_fs *fs, uint64_t parent, uint64_t child,
                        const char *name)
{
    size_t len = strlen(name);
    struct notify_item *item;

    item = new_item(FUSE_NOTIFY_DELETE, sizeof item->out.del, name, len + 1);
    if (!item)
        return -ENOMEM;
    item->out.del.parent = parent;
    item->out.del.child = child;
    item->out.del.namelen = (uint32_t)len;
    return enqueue(fs, item);
}

static int queue_prune(struct fsp_fs *fs, uint64_t nodeid)
{
    struct notify_item *item;

    item = new_item(FUSE_NOTIFY_PRUNE, sizeof item->out.prune, &nodeid,
                    sizeof nodeid);
    if (!item)
        return -ENOMEM;
    item->out.prune.count = 1;
    return enqueue(fs, item);
}

/* FUSE_NOTIFY_POLL: nothing to resolve, no lock of the kernel's to wait
 * for; queued all the same, so that it keeps its place among the rest. */
static int queue_poll(struct fsp_fs *fs, uint64_t kh)
{
    struct notify_item *item;

    item = new_item(FUSE_NOTIFY_POLL, sizeof item->out.poll, NULL, 0);
    if (!item)
        return -ENOMEM;
    item->out.poll.kh = kh;
    return enqueue(fs, item);
}

/* The waiter registered under @unique, taken off the list; NULL if none. */
static struct retrieve_wait *take_retrieve(struct fsp_notifier *n,
                                           uint64_t unique)
{
    struct retrieve_wait **pp, *w = NULL;

    pthread_mutex_lock(&n->lock);
    for (pp = &n->retrieves; *pp; pp = &(*pp)->next) {
        if ((*pp)->unique == unique) {
            w = *pp;
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&n->lock);
    return w;
}

static const char *code_name(int32_t code)
{
    switch (code) {
    case FUSE_NOTIFY_INVAL_ENTRY: return "inval entry";
    case FUSE_NOTIFY_INVAL_INODE: return "inval inode";
    case FUSE_NOTIFY_DELETE: return "delete";
    case FUSE_NOTIFY_STORE: return "store";
    case FUSE_NOTIFY_RETRIEVE: return "retrieve";
    case FUSE_NOTIFY_INC_EPOCH: return "inc epoch";
    case FUSE_NOTIFY_PRUNE: return "prune";
    case FUSE_NOTIFY_POLL: return "poll";
    default: return "notification";
    }
}

/* The node id (or parent id) an item is about, for the debug log. */
static uint64_t item_node(const struct notify_item *item)
{
    switch (item->code) {
    case FUSE_NOTIFY_INVAL_ENTRY: return item->out.entry.parent;
    case FUSE_NOTIFY_INVAL_INODE: return item->out.inode.ino;
    case FUSE_NOTIFY_DELETE: return item->out.del.child;
    case FUSE_NOTIFY_STORE: return item->out.store.nodeid;
    case FUSE_NOTIFY_RETRIEVE: return item->out.retrieve.nodeid;
    case FUSE_NOTIFY_POLL: return item->out.poll.kh;
    case FUSE_NOTIFY_PRUNE: {
        uint64_t id;

        memcpy(&id, item->tail, sizeof id);
        return id;
    }
    default: return 0;
    }
}

/* Write one notification. The kernel answers ENOENT when it has nothing
 * cached under that id or name: that is success for us, except for a
 * retrieve, whose waiter learns it. */
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
    if (item->out_size) {
        iov[n].iov_base = (void *)&item->out;
        iov[n++].iov_len = item->out_size;
    }
    if (item->tail_size) {
        iov[n].iov_base = (void *)item->tail;
        iov[n++].iov_len = item->tail_size;
    }
    hdr.len = 0;
    for (int i = 0; i < n; i++)
        hdr.len += (uint32_t)iov[i].iov_len;
    r = fs->kernel.notify ? fs->kernel.notify(fs->kernel.ctx, iov, n)
                          : -ENOTCONN;
    if (r < 0 && item->code == FUSE_NOTIFY_RETRIEVE) {
        /* No NOTIFY_REPLY will come: the waiter hears it from us. */
        struct retrieve_wait *w =
            take_retrieve(fs->notifier, item->out.retrieve.notify_unique);

        if (w) {
            w->done(fs, w->ctx, r, item->out.retrieve.offset, NULL, 0);
            free(w);
        }
    }
    if (atomic_load_explicit(&fs->debug, memory_order_relaxed)) {
        if (item->code == FUSE_NOTIFY_INVAL_ENTRY ||
            item->code == FUSE_NOTIFY_DELETE)
            fsp_log_debug(fs, "notify: %s %llu/%s: %s", code_name(item->code),
                    (unsigned long long)(item->code == FUSE_NOTIFY_DELETE
                                             ? item->out.del.parent
                                             : item->out.entry.parent),
                    item->tail,
                    r < 0 ? strerror(-r) : "done");
        else if (item->code == FUSE_NOTIFY_INVAL_INODE)
            fsp_log_debug(fs, "notify: inval inode %llu%s: %s",
                    (unsigned long long)item->out.inode.ino,
                    item->out.inode.off < 0 ? " (attributes)"
                                            : " (attributes and data)",
                    r < 0 ? strerror(-r) : "done");
        else
            fsp_log_debug(fs, "notify: %s %llu: %s", code_name(item->code),
                    (unsigned long long)item_node(item),
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

/* End every retrieve still waiting: the connection is gone. */
static void cancel_retrieves(struct fsp_fs *fs)
{
    struct fsp_notifier *n = fs->notifier;
    struct retrieve_wait *list;

    pthread_mutex_lock(&n->lock);
    list = n->retrieves;
    n->retrieves = NULL;
    pthread_mutex_unlock(&n->lock);
    while (list) {
        struct retrieve_wait *w = list;

        list = w->next;
        w->done(fs, w->ctx, -ECANCELED, 0, NULL, 0);
        free(w);
    }
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
    cancel_retrieves(fs);
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

void fsp_notify_retrieve_reply(struct fsp_fs *fs, uint64_t unique,
                               uint64_t offset, const void *data,
                               size_t size)
{
    struct retrieve_wait *w;

    if (!fs->notifier)
        return;
    w = take_retrieve(fs->notifier, unique);
    if (!w) {
        fsp_log_warning(fs, "notify: a NOTIFY_REPLY (id %llu) that no "
                        "retrieve asked for; ignored",
                        (unsigned long long)unique);
        return;
    }
    w->done(fs, w->ctx, 0, offset, data, size);
    free(w);
}

int fsp_vol_notify_reply(struct fsp_txn *t)
{
    const struct fuse_notify_retrieve_in *in = t->in.arg;

    fsp_notify_retrieve_reply(t->fs, t->in.unique, in->offset, t->in.data,
                              t->in.data_size);
    return 0;
}

/* 0 when notifications can be queued now; -ESHUTDOWN otherwise. A
 * notification racing the stop is harmless: enqueue() drops it. */
static int running(struct fsp_fs *fs)
{
    if (!__atomic_load_n(&fs->notifier, __ATOMIC_ACQUIRE) ||
        atomic_load(&fs->stopping))
        return -ESHUTDOWN;
    return 0;
}

FSP_API int fsp_fs_notify(fsp_fs_t *fs, const char *path, unsigned what)
{
    unsigned all = FSP_NOTIFY_ENTRY | FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA |
                   FSP_NOTIFY_DELETE | FSP_NOTIFY_PRUNE;
    struct fsp_cached_path at;
    int err;

    if (!fs || !path || path[0] != '/' || !what || (what & ~all))
        return -EINVAL;
    err = running(fs);
    if (err)
        return err;
    /* Before anything is queued: a LOOKUP whose ask overlaps this call
     * will not have its answer cached (fsp_vol_lookup_complete). */
    atomic_fetch_add(&fs->notify_calls, 1);
    err = fsp_node_cached_path(fs, path, &at);
    if (err)
        return -EINVAL;
    /* A name the kernel knows, in a directory it knows. */
    if (at.parent && (what & FSP_NOTIFY_DELETE) && at.node)
        err = queue_delete(fs, at.parent, at.node, at.name);
    else if (at.parent && (what & (FSP_NOTIFY_ENTRY | FSP_NOTIFY_DELETE)))
        fsp_notify_queue_entry(fs, at.parent, at.name);
    if (!err && at.node && (what & (FSP_NOTIFY_ATTR | FSP_NOTIFY_DATA)))
        fsp_notify_queue_inode(fs, at.node, (what & FSP_NOTIFY_DATA) != 0);
    if (!err && at.node && (what & FSP_NOTIFY_PRUNE) &&
        atomic_load(&fs->proto_minor) >= PRUNE_MINOR)
        err = queue_prune(fs, at.node);
    return err == -ESHUTDOWN ? 0 : err;
}

/* What the kernel has cached of @path, for a notification about it:
 * 0, -ESHUTDOWN when notifications cannot be queued, -EINVAL for a bad
 * path. */
static int cached_target(struct fsp_fs *fs, const char *path,
                         struct fsp_cached_path *at)
{
    int err = running(fs);

    if (err)
        return err;
    return fsp_node_cached_path(fs, path, at) < 0 ? -EINVAL : 0;
}

FSP_API int fsp_fs_notify_store(fsp_fs_t *fs, const char *path,
                                uint64_t offset, const void *data,
                                size_t size)
{
    struct fsp_cached_path at;
    struct notify_item *item;
    int err;

    if (!fs || !path || path[0] != '/' || (!data && size) ||
        size > fs->max_write)
        return -EINVAL;
    err = cached_target(fs, path, &at);
    if (err)
        return err;
    if (!at.node)
        return 0; /* nothing cached: the next read asks us */
    item = new_item(FUSE_NOTIFY_STORE, sizeof item->out.store, data, size);
    if (!item)
        return -ENOMEM;
    item->out.store.nodeid = at.node;
    item->out.store.offset = offset;
    item->out.store.size = (uint32_t)size;
    return enqueue(fs, item);
}

FSP_API int fsp_fs_notify_retrieve(fsp_fs_t *fs, const char *path,
                                   uint64_t offset, size_t size,
                                   fsp_retrieve_done_t *done, void *ctx)
{
    struct fsp_cached_path at;
    struct notify_item *item;
    struct retrieve_wait *w;
    struct fsp_notifier *n;
    uint64_t unique;
    int err;

    if (!fs || !path || path[0] != '/' || !done)
        return -EINVAL;
    err = cached_target(fs, path, &at);
    if (err)
        return err;
    n = fs->notifier;
    item = new_item(FUSE_NOTIFY_RETRIEVE, sizeof item->out.retrieve, NULL,
                    0);
    w = calloc(1, sizeof *w);
    if (!item || !w) {
        free(item);
        free(w);
        return -ENOMEM;
    }
    w->done = done;
    w->ctx = ctx;
    pthread_mutex_lock(&n->lock);
    w->unique = FIRST_RETRIEVE_ID + n->next_retrieve++;
    /* Registered before the write: the reply may beat deliver()'s return.
     * A file the kernel never looked up is reported by the notify thread
     * like the kernel's own ENOENT, so @done is always called there or
     * from NOTIFY_REPLY. */
    w->next = n->retrieves;
    n->retrieves = w;
    pthread_mutex_unlock(&n->lock);
    unique = w->unique;
    item->out.retrieve.notify_unique = unique;
    item->out.retrieve.nodeid = at.node;
    item->out.retrieve.offset = offset;
    item->out.retrieve.size = size > UINT32_MAX ? UINT32_MAX : (uint32_t)size;
    err = enqueue(fs, item);
    if (err) {
        /* Not queued: take the waiter back, unless the stop cancelled it
         * first (then @done has been called, and this must say 0). */
        w = take_retrieve(n, unique);
        if (!w)
            return 0;
        free(w);
        return err;
    }
    return 0;
}

FSP_API int fsp_fs_notify_poll(fsp_fs_t *fs, uint64_t kh)
{
    int err;

    if (!fs || kh == 0)
        return -EINVAL;
    err = running(fs);
    if (err)
        return err;
    return queue_poll(fs, kh);
}

FSP_API int fsp_fs_notify_epoch(fsp_fs_t *fs)
{
    struct notify_item *item;
    int err;

    if (!fs)
        return -EINVAL;
    err = running(fs);
    if (err)
        return err;
    if (atomic_load(&fs->proto_minor) < EPOCH_MINOR)
        return -EOPNOTSUPP;
    item = new_item(FUSE_NOTIFY_INC_EPOCH, 0, NULL, 0);
    if (!item)
        return -ENOMEM;
    return enqueue(fs, item);
}
