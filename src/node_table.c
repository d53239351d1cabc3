/*
 * node_table.c - FUSE node ids <-> parent + name <-> the author's objects.
 *
 * One mutex guards the whole table. That is what makes FORGET safe against
 * a concurrent LOOKUP of the same name (libfuse PR #1368, go-fuse #372):
 * the lookup count, the reference count and the hash chains change
 * together. The lock is held only for table work, never across a callback
 * into the file system.
 *
 * Node ids come from a 64-bit counter and are never reused, so the kernel
 * can never confuse a new node with a forgotten one (no generations needed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "fs_internal.h"

#define INITIAL_BUCKETS 1024u

static size_t hash_id(uint64_t id, size_t buckets)
{
    id ^= id >> 33;
    id *= 0xff51afd7ed558ccdULL;
    id ^= id >> 33;
    return (size_t)id & (buckets - 1);
}

static size_t hash_name(const struct fsp_node *parent, const char *name,
                        size_t buckets)
{
    uint64_t h = 1469598103934665603ULL ^ parent->nodeid; /* FNV-1a */

    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    return hash_id(h, buckets);
}

static void stats_nodes(struct fsp_fs *fs, int delta)
{
    if (fs->stats.shared)
        atomic_fetch_add_explicit(&fs->stats.shared->nodes, delta,
                                  memory_order_relaxed);
}

/* ---- hash chains (caller holds the lock) ---- */

static void link_id(struct fsp_node_table *t, struct fsp_node *n)
{
    size_t b = hash_id(n->nodeid, t->buckets);

    n->id_next = t->by_id[b];
    t->by_id[b] = n;
}

static void unlink_id(struct fsp_node_table *t, struct fsp_node *n)
{
    struct fsp_node **pp = &t->by_id[hash_id(n->nodeid, t->buckets)];

    while (*pp && *pp != n)
        pp = &(*pp)->id_next;
    if (*pp)
        *pp = n->id_next;
}

static void link_name(struct fsp_node_table *t, struct fsp_node *n)
{
    size_t b = hash_name(n->parent, n->name, t->buckets);

    n->name_next = t->by_name[b];
    t->by_name[b] = n;
}

static void unlink_name(struct fsp_node_table *t, struct fsp_node *n)
{
    struct fsp_node **pp;

    if (!n->parent)
        return;
    pp = &t->by_name[hash_name(n->parent, n->name, t->buckets)];
    while (*pp && *pp != n)
        pp = &(*pp)->name_next;
    if (*pp)
        *pp = n->name_next;
}

static struct fsp_node *find_id(struct fsp_node_table *t, uint64_t id)
{
    struct fsp_node *n = t->by_id[hash_id(id, t->buckets)];

    while (n && n->nodeid != id)
        n = n->id_next;
    return n;
}

static struct fsp_node *find_name(struct fsp_node_table *t,
                                  const struct fsp_node *parent,
                                  const char *name)
{
    struct fsp_node *n = t->by_name[hash_name(parent, name, t->buckets)];

    while (n && !(n->parent == parent && strcmp(n->name, name) == 0))
        n = n->name_next;
    return n;
}

/* Double the buckets when the table gets crowded; failure is harmless. */
static void maybe_grow(struct fsp_node_table *t)
{
    size_t nb = t->buckets * 2;
    struct fsp_node **by_id, **by_name;

    if (t->count < t->buckets)
        return;
    by_id = calloc(nb, sizeof *by_id);
    by_name = calloc(nb, sizeof *by_name);
    if (!by_id || !by_name) {
        free(by_id);
        free(by_name);
        return;
    }
    for (size_t i = 0; i < t->buckets; i++) {
        for (struct fsp_node *n = t->by_id[i], *next; n; n = next) {
            size_t b = hash_id(n->nodeid, nb);

            next = n->id_next;
            n->id_next = by_id[b];
            by_id[b] = n;
        }
        for (struct fsp_node *n = t->by_name[i], *next; n; n = next) {
            size_t b = hash_name(n->parent, n->name, nb);

            next = n->name_next;
            n->name_next = by_name[b];
            by_name[b] = n;
        }
    }
    free(t->by_id);
    free(t->by_name);
    t->by_id = by_id;
    t->by_name = by_name;
    t->buckets = nb;
}

/*
 * Drop one reference (caller holds the lock). A node whose last reference
 * goes is removed from the table; its parent loses a reference in turn.
 * Meta contexts of freed nodes are chained on *closing so that the caller
 * closes them after unlocking: a callback never runs under the lock.
 */
static void unref_locked(struct fsp_fs *fs, struct fsp_node *n,
                         struct fsp_node **closing)
{
    struct fsp_node_table *t = &fs->nodes;

    while (n && --n->refs == 0) {
        struct fsp_node *parent = n->parent;

        unlink_name(t, n);
        unlink_id(t, n);
        t->count--;
        n->parent = NULL;
        n->id_next = *closing; /* reuse the chain link for the free list */
        *closing = n;
        n = parent;
    }
}

static void free_closed(struct fsp_fs *fs, struct fsp_node *list)
{
    while (list) {
        struct fsp_node *next = list->id_next;

        if (list->meta_ctx && fs->iface.close)
            fs->iface.close(fs, list->meta_ctx);
        free(list->name);
        free(list);
        stats_nodes(fs, -1);
        list = next;
    }
}

/* ---- public to the volume layer ---- */

int fsp_node_table_init(struct fsp_node_table *t)
{
    memset(t, 0, sizeof *t);
    t->buckets = INITIAL_BUCKETS;
    t->by_id = calloc(t->buckets, sizeof *t->by_id);
    t->by_name = calloc(t->buckets, sizeof *t->by_name);
    t->root = calloc(1, sizeof *t->root);
    if (!t->by_id || !t->by_name || !t->root) {
        free(t->by_id);
        free(t->by_name);
        free(t->root);
        return -ENOMEM;
    }
    pthread_mutex_init(&t->lock, NULL);
    t->root->nodeid = FUSE_ROOT_ID;
    t->root->refs = 1;      /* the table's own; the root is never freed */
    t->root->is_dir = 1;
    link_id(t, t->root);
    t->count = 1;
    t->next_id = FUSE_ROOT_ID + 1;
    return 0;
}

void fsp_node_table_fini(struct fsp_fs *fs)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *all = NULL;

    if (!t->by_id)
        return;
    for (size_t i = 0; i < t->buckets; i++) {
        for (struct fsp_node *n = t->by_id[i], *next; n; n = next) {
            next = n->id_next;
            n->id_next = all;
            all = n;
        }
    }
    free_closed(fs, all);
    free(t->by_id);
    free(t->by_name);
    t->by_id = t->by_name = NULL;
    pthread_mutex_destroy(&t->lock);
}

struct fsp_node *fsp_node_get(struct fsp_fs *fs, uint64_t nodeid)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n;

    pthread_mutex_lock(&t->lock);
    n = find_id(t, nodeid);
    if (n)
        n->refs++;
    pthread_mutex_unlock(&t->lock);
    return n;
}

void fsp_node_put(struct fsp_fs *fs, struct fsp_node *node)
{
    struct fsp_node *closing = NULL;

    if (!node)
        return;
    pthread_mutex_lock(&fs->nodes.lock);
    unref_locked(fs, node, &closing);
    pthread_mutex_unlock(&fs->nodes.lock);
    free_closed(fs, closing);
}

struct fsp_node *fsp_node_find_child(struct fsp_fs *fs,
                                     struct fsp_node *parent,
                                     const char *name)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n;

    pthread_mutex_lock(&t->lock);
    n = find_name(t, parent, name);
    if (n)
        n->refs++;
    pthread_mutex_unlock(&t->lock);
    return n;
}

struct fsp_node *fsp_node_lookup_child(struct fsp_fs *fs,
                                       struct fsp_node *parent,
                                       const char *name, bool count_lookup)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n, *fresh = NULL;
    char *fresh_name = NULL;

    /* Allocate outside the lock; usually the node exists already. */
    pthread_mutex_lock(&t->lock);
    n = find_name(t, parent, name);
    if (!n) {
        pthread_mutex_unlock(&t->lock);
        fresh = calloc(1, sizeof *fresh);
        fresh_name = strdup(name);
        if (!fresh || !fresh_name) {
            free(fresh);
            free(fresh_name);
            return NULL;
        }
        pthread_mutex_lock(&t->lock);
        n = find_name(t, parent, name); /* someone may have won the race */
        if (!n) {
            n = fresh;
            fresh = NULL;
            n->nodeid = t->next_id++;
            n->name = fresh_name;
            fresh_name = NULL;
            n->parent = parent;
            parent->refs++;     /* the child's reference on its parent */
            link_id(t, n);
            link_name(t, n);
            t->count++;
            maybe_grow(t);
            stats_nodes(fs, 1);
        }
    }
    n->refs++;                  /* the caller's reference */
    if (count_lookup && n->lookup_count++ == 0)
        n->refs++;              /* the kernel's reference */
    pthread_mutex_unlock(&t->lock);
    free(fresh);
    free(fresh_name);
    return n;
}

void fsp_node_forget(struct fsp_fs *fs, uint64_t nodeid, uint64_t nlookup)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n, *closing = NULL;

    if (nodeid == FUSE_ROOT_ID)
        return;                 /* the root is never forgotten for real */
    pthread_mutex_lock(&t->lock);
    n = find_id(t, nodeid);
    if (n && n->lookup_count > 0) {
        if (nlookup >= n->lookup_count) {
            n->lookup_count = 0;
            unref_locked(fs, n, &closing);
        } else {
            n->lookup_count -= nlookup;
        }
    }
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
}

char *fsp_node_path(struct fsp_fs *fs, struct fsp_node *node,
                    const char *name, int *err)
{
    struct fsp_node_table *t = &fs->nodes;
    size_t len = 0, namelen = name ? strlen(name) : 0;
    char *path = NULL, *p;

    *err = 0;
    if (namelen > NAME_MAX) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    pthread_mutex_lock(&t->lock);
    /* First pass: the length; an unlinked ancestor means no path at all. */
    for (struct fsp_node *n = node; n != t->root; n = n->parent) {
        if (!n->parent) {
            *err = -ENOENT;
            goto out;
        }
        len += 1 + strlen(n->name);
    }
    if (name)
        len += 1 + namelen;
    if (len >= PATH_MAX) {
        *err = -ENAMETOOLONG;
        goto out;
    }
    path = malloc(len + 2);
    if (!path) {
        *err = -ENOMEM;
        goto out;
    }
    /* Second pass: fill from the end backwards. */
    p = path + len + 1;
    *--p = '\0';
    if (name) {
        p -= namelen;
        memcpy(p, name, namelen);
        *--p = '/';
    }
    for (struct fsp_node *n = node; n != t->root; n = n->parent) {
        size_t l = strlen(n->name);

        p -= l;
        memcpy(p, n->name, l);
        *--p = '/';
    }
    if (p == path + 1)      /* the root itself: "/" */
        *--p = '/';
    memmove(path, p, strlen(p) + 1);
out:
    pthread_mutex_unlock(&t->lock);
    return path;
}

/* Detach @n from its name (caller holds the lock). */
static void detach_locked(struct fsp_fs *fs, struct fsp_node *n,
                          struct fsp_node **closing)
{
    struct fsp_node *parent = n->parent;

    unlink_name(&fs->nodes, n);
    free(n->name);
    n->name = NULL;
    n->parent = NULL;
    unref_locked(fs, parent, closing);
}

void fsp_node_unlinked(struct fsp_fs *fs, struct fsp_node *parent,
                       const char *name)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n, *closing = NULL;

    pthread_mutex_lock(&t->lock);
    n = find_name(t, parent, name);
    if (n)
        detach_locked(fs, n, &closing);
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
}

/* Give @n the name @newname under @newparent (caller holds the lock;
 * @newname is malloc'd and taken over). */
static void move_locked(struct fsp_fs *fs, struct fsp_node *n,
                        struct fsp_node *newparent, char *newname,
                        struct fsp_node **closing)
{
    struct fsp_node *oldparent = n->parent;

    unlink_name(&fs->nodes, n);
    free(n->name);
    n->name = newname;
    n->parent = newparent;
    newparent->refs++;
    link_name(&fs->nodes, n);
    if (oldparent)
        unref_locked(fs, oldparent, closing);
}

int fsp_node_renamed(struct fsp_fs *fs, struct fsp_node *parent,
                     const char *name, struct fsp_node *newparent,
                     const char *newname, unsigned flags)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *src, *dst, *closing = NULL;
    char *name_for_src = strdup(newname), *name_for_dst = strdup(name);
    int err = 0;

    if (!name_for_src || !name_for_dst) {
        err = -ENOMEM;
        goto out_free;
    }
    pthread_mutex_lock(&t->lock);
    src = find_name(t, parent, name);
    dst = find_name(t, newparent, newname);
    if (src == dst)
        goto out_unlock;        /* renaming a name onto itself */
    /* Pin both while they move: unref below must not free them. */
    if (src)
        src->refs++;
    if (dst)
        dst->refs++;
    if (flags & FSP_RENAME_EXCHANGE) {
        if (dst)
            unlink_name(t, dst);
        if (src) {
            move_locked(fs, src, newparent, name_for_src, &closing);
            name_for_src = NULL;
        }
        if (dst) {
            /* dst's name chain was unlinked above: relink at the old name */
            struct fsp_node *old = dst->parent;

            free(dst->name);
            dst->name = name_for_dst;
            name_for_dst = NULL;
            dst->parent = parent;
            parent->refs++;
            link_name(t, dst);
            unref_locked(fs, old, &closing);
        }
    } else {
        if (dst)
            detach_locked(fs, dst, &closing);
        if (src) {
            move_locked(fs, src, newparent, name_for_src, &closing);
            name_for_src = NULL;
        }
    }
    if (src)
        unref_locked(fs, src, &closing);
    if (dst)
        unref_locked(fs, dst, &closing);
out_unlock:
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
out_free:
    free(name_for_src);
    free(name_for_dst);
    return err;
}

int fsp_node_meta_ctx(struct fsp_fs *fs, struct fsp_node *node, void **ctx)
{
    struct fsp_node_table *t = &fs->nodes;
    fsp_file_info_t info;
    void *fresh = NULL;
    char *path;
    int err;

    *ctx = NULL;
    pthread_mutex_lock(&t->lock);
    *ctx = node->meta_ctx;
    pthread_mutex_unlock(&t->lock);
    if (*ctx)
        return 0;
    if (!fs->iface.open)
        return -ENOSYS;
    path = fsp_node_path(fs, node, NULL, &err);
    if (!path)
        return err;
    memset(&info, 0, sizeof info);
    err = fs->iface.open(fs, path, FSP_OPEN_META, &fresh, &info);
    free(path);
    if (err)
        return err;
    /* Another request may have opened one meanwhile: keep the first. */
    pthread_mutex_lock(&t->lock);
    if (!node->meta_ctx) {
        node->meta_ctx = fresh;
        fresh = NULL;
    }
    *ctx = node->meta_ctx;
    pthread_mutex_unlock(&t->lock);
    if (fresh && fs->iface.close)
        fs->iface.close(fs, fresh);
    return 0;
}
