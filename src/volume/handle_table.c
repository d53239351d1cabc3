/*
 * handle_table.c - open files and directories, named by the fh the kernel
 * gives back in every later request.
 *
 * An fh is (generation << 32 | slot index + 1), so a stale or forged fh
 * never reaches a freed handle: fsp_handle_get() checks both halves.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

#define NO_SLOT UINT32_MAX

struct fsp_handle_slot {
    struct fsp_handle *handle;  /* NULL when free */
    uint32_t generation;
    uint32_t next_free;
};

static void stats_handles(struct fsp_fs *fs, int delta)
{
    if (fs->stats.shared)
        atomic_fetch_add_explicit(&fs->stats.shared->handles, delta,
                                  memory_order_relaxed);
}

int fsp_handle_table_init(struct fsp_handle_table *t)
{
    memset(t, 0, sizeof *t);
    pthread_mutex_init(&t->lock, NULL);
    pthread_cond_init(&t->unpinned, NULL);
    t->free_head = NO_SLOT;
    return 0;
}

/* Make room for more handles (caller holds the lock). */
static int grow(struct fsp_handle_table *t)
{
    uint32_t ncap = t->capacity ? t->capacity * 2 : 256;
    struct fsp_handle_slot *slots;

    slots = realloc(t->slots, ncap * sizeof *slots);
    if (!slots)
        return -ENOMEM;
    /* Chain the new slots onto the free list, lowest index first. */
    for (uint32_t i = ncap; i-- > t->capacity;) {
        slots[i].handle = NULL;
        slots[i].generation = 1;
        slots[i].next_free = t->free_head;
        t->free_head = i;
    }
    t->slots = slots;
    t->capacity = ncap;
    return 0;
}

uint64_t fsp_handle_open(struct fsp_fs *fs, void *ctx, struct fsp_node *node,
                         int flags, bool is_dir)
{
    struct fsp_handle_table *t = &fs->handles;
    struct fsp_handle *h = calloc(1, sizeof *h);
    uint64_t fh = 0;
    uint32_t i;

    if (!h)
        return 0;
    h->ctx = ctx;
    h->node = node;
    h->flags = flags;
    h->is_dir = is_dir;
    pthread_mutex_init(&h->dir_lock, NULL);
    pthread_cond_init(&h->dir_cond, NULL);

    pthread_mutex_lock(&t->lock);
    if (t->free_head == NO_SLOT && grow(t) < 0) {
        pthread_mutex_unlock(&t->lock);
        pthread_cond_destroy(&h->dir_cond);
        pthread_mutex_destroy(&h->dir_lock);
        free(h);
        return 0;
    }
    i = t->free_head;
    t->free_head = t->slots[i].next_free;
    t->slots[i].handle = h;
    t->count++;
    fh = (uint64_t)t->slots[i].generation << 32 | (i + 1);
    pthread_mutex_unlock(&t->lock);

    /* The handle keeps its node alive (for cleanup's path). */
    pthread_mutex_lock(&fs->nodes.lock);
    node->refs++;
    pthread_mutex_unlock(&fs->nodes.lock);
    stats_handles(fs, 1);
    return fh;
}

/* Find the slot of @fh (caller holds the lock); NULL if not open. */
static struct fsp_handle_slot *slot_of(struct fsp_handle_table *t,
                                       uint64_t fh)
{
    uint32_t i = (uint32_t)fh - 1, gen = (uint32_t)(fh >> 32);

    if ((uint32_t)fh == 0 || i >= t->capacity)
        return NULL;
    if (!t->slots[i].handle || t->slots[i].generation != gen)
        return NULL;
    return &t->slots[i];
}

struct fsp_handle *fsp_handle_get(struct fsp_fs *fs, uint64_t fh)
{
    struct fsp_handle_table *t = &fs->handles;
    struct fsp_handle_slot *s;
    struct fsp_handle *h = NULL;

    pthread_mutex_lock(&t->lock);
    s = slot_of(t, fh);
    if (s)
        h = s->handle;
    pthread_mutex_unlock(&t->lock);
    return h;
}

/* Cleanup + close through the interface, then free (no lock held). */
static void close_handle(struct fsp_fs *fs, struct fsp_handle *h)
{
    bool want_cleanup = fs->iface.cleanup &&
        (!fs->params.post_cleanup_when_modified_only ||
         atomic_load_explicit(&h->modified, memory_order_relaxed));

    if (want_cleanup) {
        int err;
        char *path = fsp_node_path(fs, h->node, NULL, &err);

        fs->iface.cleanup(fs, h->ctx, path);
        free(path);
    }
    /* Before close(): the backing file is the context's descriptor. */
    fsp_passthrough_release(fs, h);
    if (fs->iface.close && !h->borrowed)
        fs->iface.close(fs, h->ctx);
    fsp_node_put(fs, h->node);
    pthread_cond_destroy(&h->dir_cond);
    pthread_mutex_destroy(&h->dir_lock);
    free(h->dir_names);
    free(h->lock_owners);
    free(h->dir_name_at);
    free(h);
    stats_handles(fs, -1);
}

int fsp_handle_release(struct fsp_fs *fs, uint64_t fh)
{
    struct fsp_handle_table *t = &fs->handles;
    struct fsp_handle_slot *s;
    struct fsp_handle *h = NULL;

    pthread_mutex_lock(&t->lock);
    s = slot_of(t, fh);
    if (s) {
        h = s->handle;
        s->handle = NULL;
        s->generation++;
        s->next_free = t->free_head;
        t->free_head = (uint32_t)(s - t->slots);
        t->count--;
        /* The kernel releases a file only when no request on it awaits
         * a reply; but a request it interrupted (answered EINTR) may
         * still be at work in the file system, which completes it later.
         * Its context must stay open until then. Rare, and short. */
        while (h->pins)
            pthread_cond_wait(&t->unpinned, &t->lock);
    }
    pthread_mutex_unlock(&t->lock);
    if (!h)
        return -EBADF;
    close_handle(fs, h);
    return 0;
}

void fsp_handle_pin(struct fsp_fs *fs, struct fsp_handle *h)
{
    pthread_mutex_lock(&fs->handles.lock);
    h->pins++;
    pthread_mutex_unlock(&fs->handles.lock);
    /* A node's shared handle lives as long as the node: keep the node. */
    if (h->shared) {
        pthread_mutex_lock(&fs->nodes.lock);
        h->node->refs++;
        pthread_mutex_unlock(&fs->nodes.lock);
    }
}

void fsp_handle_unpin(struct fsp_fs *fs, struct fsp_handle *h)
{
    struct fsp_node *node = h->shared ? h->node : NULL;

    pthread_mutex_lock(&fs->handles.lock);
    if (--h->pins == 0)
        pthread_cond_broadcast(&fs->handles.unpinned);
    pthread_mutex_unlock(&fs->handles.lock);
    fsp_node_put(fs, node); /* may free the node and @h with it */
}

void fsp_handle_table_fini(struct fsp_fs *fs)
{
    struct fsp_handle_table *t = &fs->handles;

    for (uint32_t i = 0; i < t->capacity; i++) {
        if (t->slots[i].handle) {
            close_handle(fs, t->slots[i].handle);
            t->slots[i].handle = NULL;
        }
    }
    free(t->slots);
    t->slots = NULL;
    t->capacity = 0;
    pthread_cond_destroy(&t->unpinned);
    pthread_mutex_destroy(&t->lock);
}
