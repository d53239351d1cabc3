/*
 * node_table.c - FUSE node ids <-> names <-> the author's objects.
 *
 * Three hash tables share one mutex: nodes by id, nodes by the file
 * system's index number (so hard links share a node), and names by
 * (parent, name). One lock is what makes FORGET safe against a concurrent
 * LOOKUP of the same name (libfuse PR #1368, go-fuse #372): the lookup
 * count, the reference count and the chains change together. The lock is
 * held only for table work, never across a callback into the file system.
 *
 * Node ids come from a 64-bit counter and are never reused, so the kernel
 * can never confuse a new node with a forgotten one (no generations needed).
 *
 * On a case-insensitive volume names hash and compare folded (casefold.c),
 * so "Foo" and "FOO" find one name and one node (see volume.c for why the
 * kernel may not cache such names).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "casefold.h"
#include "fs_internal.h"

#define INITIAL_BUCKETS 1024u

static size_t hash_u64(uint64_t v, size_t buckets)
{
    v ^= v >> 33;
    v *= 0xff51afd7ed558ccdULL;
    v ^= v >> 33;
    return (size_t)v & (buckets - 1);
}

static size_t hash_name(const struct fsp_fs *fs, const struct fsp_node *parent,
                        const char *name, size_t buckets)
{
    uint64_t h = fsp_casefold_hash(name, fs->params.case_insensitive);

    return hash_u64(h ^ (parent->nodeid * 0x9e3779b97f4a7c15ULL), buckets);
}

static void stats_nodes(struct fsp_fs *fs, int delta)
{
    if (fs->stats.shared)
        atomic_fetch_add_explicit(&fs->stats.shared->nodes, delta,
                                  memory_order_relaxed);
}

/* Hard links share a node; directories never have more than one name. */
static bool keyed_by_ino(const struct fsp_node *n)
{
    return n->index_number != 0 && !n->is_dir;
}

/* ---- hash chains (caller holds the lock) ---- */

static void link_id(struct fsp_node_table *t, struct fsp_node *n)
{
    size_t b = hash_u64(n->nodeid, t->buckets);

    n->id_next = t->by_id[b];
    t->by_id[b] = n;
}

static void unlink_id(struct fsp_node_table *t, struct fsp_node *n)
{
    struct fsp_node **pp = &t->by_id[hash_u64(n->nodeid, t->buckets)];

    while (*pp && *pp != n)
        pp = &(*pp)->id_next;
    if (*pp)
        *pp = n->id_next;
}

static void link_ino(struct fsp_node_table *t, struct fsp_node *n)
{
    size_t b = hash_u64(n->index_number, t->buckets);

    n->ino_next = t->by_ino[b];
    t->by_ino[b] = n;
}

static void unlink_ino(struct fsp_node_table *t, struct fsp_node *n)
{
    struct fsp_node **pp;

    if (!keyed_by_ino(n))
        return;
    pp = &t->by_ino[hash_u64(n->index_number, t->buckets)];
    while (*pp && *pp != n)
        pp = &(*pp)->ino_next;
    if (*pp)
        *pp = n->ino_next;
}

static void link_name(struct fsp_fs *fs, struct fsp_name *nm)
{
    struct fsp_node_table *t = &fs->nodes;
    size_t b = hash_name(fs, nm->parent, nm->name, t->buckets);

    nm->hash_next = t->by_name[b];
    t->by_name[b] = nm;
}

static void unlink_name(struct fsp_fs *fs, struct fsp_name *nm)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_name **pp =
        &t->by_name[hash_name(fs, nm->parent, nm->name, t->buckets)];

    while (*pp && *pp != nm)
        pp = &(*pp)->hash_next;
    if (*pp)
        *pp = nm->hash_next;
}

static struct fsp_node *find_id(struct fsp_node_table *t, uint64_t id)
{
    struct fsp_node *n = t->by_id[hash_u64(id, t->buckets)];

    while (n && n->nodeid != id)
        n = n->id_next;
    return n;
}

static struct fsp_node *find_ino(struct fsp_node_table *t, uint64_t ino)
{
    struct fsp_node *n = t->by_ino[hash_u64(ino, t->buckets)];

    while (n && n->index_number != ino)
        n = n->ino_next;
    return n;
}

static struct fsp_name *find_name(const struct fsp_fs *fs,
                                  const struct fsp_node *parent,
                                  const char *name)
{
    const struct fsp_node_table *t = &fs->nodes;
    bool ci = fs->params.case_insensitive;
    struct fsp_name *nm = t->by_name[hash_name(fs, parent, name, t->buckets)];

    while (nm && !(nm->parent == parent &&
                   fsp_casefold_compare(nm->name, name, ci) == 0))
        nm = nm->hash_next;
    return nm;
}

/* Double the buckets when the table gets crowded; failure is harmless. */
static void maybe_grow(struct fsp_fs *fs)
{
    struct fsp_node_table *t = &fs->nodes;
    size_t nb = t->buckets * 2, ob = t->buckets;
    struct fsp_node **by_id, **by_ino;
    struct fsp_name **by_name;

    if (t->count < ob && t->names < ob)
        return;
    by_id = calloc(nb, sizeof *by_id);
    by_ino = calloc(nb, sizeof *by_ino);
    by_name = calloc(nb, sizeof *by_name);
    if (!by_id || !by_ino || !by_name) {
        free(by_id);
        free(by_ino);
        free(by_name);
        return;
    }
    for (size_t i = 0; i < ob; i++) {
        for (struct fsp_node *n = t->by_id[i], *next; n; n = next) {
            size_t b = hash_u64(n->nodeid, nb);

            next = n->id_next;
            n->id_next = by_id[b];
            by_id[b] = n;
        }
        for (struct fsp_node *n = t->by_ino[i], *next; n; n = next) {
            size_t b = hash_u64(n->index_number, nb);

            next = n->ino_next;
            n->ino_next = by_ino[b];
            by_ino[b] = n;
        }
        for (struct fsp_name *nm = t->by_name[i], *next; nm; nm = next) {
            size_t b = hash_name(fs, nm->parent, nm->name, nb);

            next = nm->hash_next;
            nm->hash_next = by_name[b];
            by_name[b] = nm;
        }
    }
    free(t->by_id);
    free(t->by_ino);
    free(t->by_name);
    t->by_id = by_id;
    t->by_ino = by_ino;
    t->by_name = by_name;
    t->buckets = nb;
}

static void unref_locked(struct fsp_fs *fs, struct fsp_node *n,
                         struct fsp_node **closing);

/* Remove one name from the table and from its node; the parent loses the
 * name's reference. A node left without names leaves the index-number
 * table, since the file system may reuse the number. */
static void drop_name_locked(struct fsp_fs *fs, struct fsp_name *nm,
                             struct fsp_node **closing)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *node = nm->node, *parent = nm->parent;
    struct fsp_name **pp = &node->names;

    unlink_name(fs, nm);
    while (*pp && *pp != nm)
        pp = &(*pp)->alias_next;
    if (*pp)
        *pp = nm->alias_next;
    if (!node->names)
        unlink_ino(t, node);
    t->names--;
    free(nm->name);
    free(nm);
    unref_locked(fs, parent, closing);
}

/*
 * Drop one reference (caller holds the lock). A node whose last reference
 * goes leaves the table with all its names, whose parents lose a
 * reference in turn. Freed nodes are chained on *closing, so that the
 * caller closes their meta contexts after unlocking: a callback never runs
 * under the lock.
 */
static void unref_locked(struct fsp_fs *fs, struct fsp_node *n,
                         struct fsp_node **closing)
{
    struct fsp_node_table *t = &fs->nodes;

    if (--n->refs != 0)
        return;
    while (n->names)
        drop_name_locked(fs, n->names, closing);
    unlink_id(t, n);
    t->count--;
    n->id_next = *closing; /* reuse the chain link for the free list */
    *closing = n;
}

static void free_closed(struct fsp_fs *fs, struct fsp_node *list)
{
    while (list) {
        struct fsp_node *next = list->id_next;

        fsp_handle_free_shared(list->shared);
        if (list->meta_ctx && fs->iface.close)
            fs->iface.close(fs, list->meta_ctx);
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
    t->by_ino = calloc(t->buckets, sizeof *t->by_ino);
    t->by_name = calloc(t->buckets, sizeof *t->by_name);
    t->root = calloc(1, sizeof *t->root);
    if (!t->by_id || !t->by_ino || !t->by_name || !t->root) {
        free(t->by_id);
        free(t->by_ino);
        free(t->by_name);
        free(t->root);
        memset(t, 0, sizeof *t);
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
        for (struct fsp_name *nm = t->by_name[i], *next; nm; nm = next) {
            next = nm->hash_next;
            free(nm->name);
            free(nm);
        }
        for (struct fsp_node *n = t->by_id[i], *next; n; n = next) {
            next = n->id_next;
            n->id_next = all;
            all = n;
        }
    }
    free_closed(fs, all);
    free(t->by_id);
    free(t->by_ino);
    free(t->by_name);
    t->by_id = NULL;
    t->by_ino = NULL;
    t->by_name = NULL;
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
    struct fsp_name *nm;
    struct fsp_node *n = NULL;

    pthread_mutex_lock(&t->lock);
    nm = find_name(fs, parent, name);
    if (nm) {
        n = nm->node;
        n->refs++;
    }
    pthread_mutex_unlock(&t->lock);
    return n;
}

/* Attach a new name to @node (caller holds the lock). */
static void add_name_locked(struct fsp_fs *fs, struct fsp_node *node,
                            struct fsp_node *parent, struct fsp_name *nm,
                            char *name)
{
    struct fsp_node_table *t = &fs->nodes;

    nm->parent = parent;
    nm->name = name;
    nm->node = node;
    parent->refs++;             /* the name's reference on its parent */
    if (!node->names && keyed_by_ino(node))
        link_ino(t, node);
    nm->alias_next = node->names;
    node->names = nm;
    link_name(fs, nm);
    t->names++;
}

struct fsp_node *fsp_node_lookup_child(struct fsp_fs *fs,
                                       struct fsp_node *parent,
                                       const char *name,
                                       const fsp_file_info_t *info,
                                       bool count_lookup)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n = NULL, *fresh = calloc(1, sizeof *fresh), *closing = NULL;
    struct fsp_name *nm, *fresh_nm = calloc(1, sizeof *fresh_nm);
    char *fresh_name = strdup(name);
    bool is_dir = S_ISDIR(info->mode);

    /* Allocate before locking: simpler than allocating on demand, and
     * cheap next to the round trip that brought us here. */
    if (!fresh || !fresh_nm || !fresh_name)
        goto out;
    pthread_mutex_lock(&t->lock);
    nm = find_name(fs, parent, name);
    if (nm && info->index_number && nm->node->index_number &&
        nm->node->index_number != info->index_number) {
        /* The name now refers to another file (replaced behind the
         * kernel's back): forget the old binding. */
        drop_name_locked(fs, nm, &closing);
        nm = NULL;
    }
    if (nm) {
        n = nm->node;
    } else {
        if (info->index_number && !is_dir)
            n = find_ino(t, info->index_number);
        if (n && n->is_dir)
            n = NULL;
        if (!n) {
            n = fresh;
            fresh = NULL;
            n->nodeid = t->next_id++;
            n->index_number = info->index_number;
            n->is_dir = is_dir;
            link_id(t, n);
            t->count++;
            stats_nodes(fs, 1);
        }
        add_name_locked(fs, n, parent, fresh_nm, fresh_name);
        fresh_nm = NULL;
        fresh_name = NULL;
        maybe_grow(fs);
    }
    n->refs++;                  /* the caller's reference */
    if (count_lookup && n->lookup_count++ == 0)
        n->refs++;              /* the kernel's reference */
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
out:
    free(fresh);
    free(fresh_nm);
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
    if (node == t->root && !name) {
        path = strdup("/");
        if (!path)
            *err = -ENOMEM;
        return path;
    }
    if (namelen > NAME_MAX) {
        *err = -ENAMETOOLONG;
        return NULL;
    }
    pthread_mutex_lock(&t->lock);
    /* First pass: the length; an unlinked ancestor means no path at all. */
    for (struct fsp_node *n = node; n != t->root; n = n->names->parent) {
        if (!n->names) {
            *err = -ENOENT;
            goto out;
        }
        len += 1 + strlen(n->names->name);
    }
    if (name)
        len += 1 + namelen;
    /* No cap on the length: PATH_MAX limits the string a process passes
     * in one call, not the depth of a tree (a process reaches deeper
     * with chdir and openat), so a path may be longer than PATH_MAX. */
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
    for (struct fsp_node *n = node; n != t->root; n = n->names->parent) {
        size_t l = strlen(n->names->name);

        p -= l;
        memcpy(p, n->names->name, l);
        *--p = '/';
    }
    memmove(path, p, strlen(p) + 1);
out:
    pthread_mutex_unlock(&t->lock);
    return path;
}

void fsp_node_unlinked(struct fsp_fs *fs, struct fsp_node *parent,
                       const char *name)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_name *nm;
    struct fsp_node *closing = NULL;

    pthread_mutex_lock(&t->lock);
    nm = find_name(fs, parent, name);
    if (nm)
        drop_name_locked(fs, nm, &closing);
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
}

/* Move the name @nm to @newparent / @newname (caller holds the lock;
 * @newname is malloc'd and taken over). */
static void move_name_locked(struct fsp_fs *fs, struct fsp_name *nm,
                             struct fsp_node *newparent, char *newname,
                             struct fsp_node **closing)
{
    struct fsp_node *oldparent = nm->parent;

    unlink_name(fs, nm);
    free(nm->name);
    nm->name = newname;
    nm->parent = newparent;
    newparent->refs++;
    link_name(fs, nm);
    unref_locked(fs, oldparent, closing);
}

int fsp_node_renamed(struct fsp_fs *fs, struct fsp_node *parent,
                     const char *name, struct fsp_node *newparent,
                     const char *newname, unsigned flags)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_name *src, *dst;
    struct fsp_node *closing = NULL;
    char *name_for_src = strdup(newname), *name_for_dst = strdup(name);
    int err = 0;

    if (!name_for_src || !name_for_dst) {
        err = -ENOMEM;
        goto out_free;
    }
    pthread_mutex_lock(&t->lock);
    src = find_name(fs, parent, name);
    dst = find_name(fs, newparent, newname);
    if (src == dst || (src && dst && src->node == dst->node))
        goto out_unlock;        /* a name onto itself or a hard link of it */
    if (flags & FSP_RENAME_EXCHANGE) {
        /* Take dst out of the hash first: its slot is where src goes. */
        if (dst)
            unlink_name(fs, dst);
        if (src) {
            move_name_locked(fs, src, newparent, name_for_src, &closing);
            name_for_src = NULL;
        }
        if (dst) {
            struct fsp_node *old = dst->parent;

            free(dst->name);
            dst->name = name_for_dst;
            name_for_dst = NULL;
            dst->parent = parent;
            parent->refs++;
            link_name(fs, dst);
            unref_locked(fs, old, &closing);
        }
    } else {
        if (dst)
            drop_name_locked(fs, dst, &closing);
        if (src) {
            move_name_locked(fs, src, newparent, name_for_src, &closing);
            name_for_src = NULL;
        }
    }
out_unlock:
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
out_free:
    free(name_for_src);
    free(name_for_dst);
    return err;
}

void fsp_node_dir_rename_begin(struct fsp_fs *fs)
{
    atomic_fetch_add(&fs->nodes.dir_renames_begun, 1);
}

void fsp_node_dir_rename_end(struct fsp_fs *fs)
{
    atomic_fetch_add(&fs->nodes.dir_renames_ended, 1);
}

struct fsp_paths_snapshot fsp_node_paths_snapshot(struct fsp_fs *fs)
{
    struct fsp_paths_snapshot snap;
    /* Ended first: a rename that begins between the two loads makes the
     * snapshot unstable, never a rename in progress look finished. */
    uint_fast64_t ended = atomic_load(&fs->nodes.dir_renames_ended);

    snap.begun = atomic_load(&fs->nodes.dir_renames_begun);
    snap.stable = snap.begun == ended;
    return snap;
}

bool fsp_node_paths_unchanged(struct fsp_fs *fs,
                              const struct fsp_paths_snapshot *snap)
{
    return snap->stable &&
           atomic_load(&fs->nodes.dir_renames_begun) == snap->begun;
}

/* How long a request waits for directory renames in flight to end. */
#define RENAME_WAIT_NS 200000000L  /* 200 ms */
#define RENAME_POLL_NS 20000L      /* 20 us */

void fsp_node_paths_wait(struct fsp_fs *fs)
{
    uint_fast64_t target = atomic_load(&fs->nodes.dir_renames_begun);
    struct timespec pause = { 0, RENAME_POLL_NS };

    /* A rename is short (one callback and a table update), but the thread
     * doing it may be descheduled: poll, with a bound so that a stream of
     * renames cannot hold a request forever. */
    for (long waited = 0; waited < RENAME_WAIT_NS;
         waited += RENAME_POLL_NS) {
        if (atomic_load(&fs->nodes.dir_renames_ended) >= target)
            return;
        nanosleep(&pause, NULL);
    }
}

int fsp_node_cached_path(struct fsp_fs *fs, const char *path,
                         struct fsp_cached_path *out)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *dir = t->root, *node = t->root;
    struct fsp_name *nm = NULL;
    const char *p = path;
    int err = 0;

    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&t->lock);
    /* Walk the names the kernel knows; where the walk leaves them, the
     * kernel has nothing cached below, except a name in the last known
     * directory (which may be cached as absent). */
    for (;;) {
        const char *end;
        size_t len;

        while (*p == '/')
            p++;
        if (!*p)
            break;
        end = strchrnul(p, '/');
        len = (size_t)(end - p);
        if (len > NAME_MAX) {
            err = -ENAMETOOLONG;
            goto out;
        }
        if (!node)
            goto out; /* a directory in the path is unknown */
        memcpy(out->name, p, len);
        out->name[len] = '\0';
        dir = node;
        nm = find_name(fs, dir, out->name);
        node = nm ? nm->node : NULL;
        p = end;
    }
    if (node == t->root && !nm) {
        out->node = FUSE_ROOT_ID; /* "/": no name, no parent */
        goto out;
    }
    out->parent = dir->nodeid;
    out->node = node ? node->nodeid : 0;
out:
    pthread_mutex_unlock(&t->lock);
    return err;
}

#define META_OPEN_ATTEMPTS 8

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
    /* The open is by path: a directory rename that ran meanwhile (A to B
     * and back) may have made the path name nothing for a moment. Ask
     * again then, as LOOKUP does (see fsp_node_paths_snapshot). */
    for (int attempt = 0;; attempt++) {
        struct fsp_paths_snapshot snap = fsp_node_paths_snapshot(fs);

        path = fsp_node_path(fs, node, NULL, &err);
        if (!path)
            return err;
        memset(&info, 0, sizeof info);
        err = fs->iface.open(fs, path, FSP_OPEN_META, &fresh, &info);
        if (err == FSP_PENDING) {
            fsp_log(fs, "open(%s, FSP_OPEN_META) returned FSP_PENDING, "
                    "which it may not; answering EIO", path);
            err = -EIO;
        }
        free(path);
        if (err != -ENOENT || fsp_node_paths_unchanged(fs, &snap) ||
            attempt == META_OPEN_ATTEMPTS - 1)
            break;
        fsp_node_paths_wait(fs);
    }
    if (err)
        return err;
    /* Another request may have opened one meanwhile: keep the first. */
    *ctx = fsp_node_adopt_meta_ctx(fs, node, fresh);
    return 0;
}

void *fsp_node_adopt_meta_ctx(struct fsp_fs *fs, struct fsp_node *node,
                              void *ctx)
{
    struct fsp_node_table *t = &fs->nodes;
    void *kept;

    pthread_mutex_lock(&t->lock);
    if (!node->meta_ctx) {
        node->meta_ctx = ctx;
        ctx = NULL;
    }
    kept = node->meta_ctx;
    pthread_mutex_unlock(&t->lock);
    if (ctx && fs->iface.close)
        fs->iface.close(fs, ctx);
    return kept;
}

/* ---- O_TMPFILE files, which have no name at first ---- */

struct fsp_node *fsp_node_new_unnamed(struct fsp_fs *fs,
                                      const fsp_file_info_t *info)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_node *n = calloc(1, sizeof *n);

    if (!n)
        return NULL;
    pthread_mutex_lock(&t->lock);
    n->nodeid = t->next_id++;
    n->index_number = info->index_number;
    n->is_dir = S_ISDIR(info->mode);
    /* Not in the index-number table until it has a name: the number
     * joins it with the first one (add_name_locked). */
    link_id(t, n);
    t->count++;
    stats_nodes(fs, 1);
    n->lookup_count = 1;
    n->refs = 2;                /* the kernel's and the caller's */
    maybe_grow(fs);
    pthread_mutex_unlock(&t->lock);
    return n;
}

int fsp_node_name_unnamed(struct fsp_fs *fs, struct fsp_node *node,
                          struct fsp_node *parent, const char *name)
{
    struct fsp_node_table *t = &fs->nodes;
    struct fsp_name *nm = calloc(1, sizeof *nm), *old;
    struct fsp_node *closing = NULL;
    char *copy = strdup(name);
    int err = 0;

    if (!nm || !copy) {
        err = -ENOMEM;
        goto out;
    }
    pthread_mutex_lock(&t->lock);
    if (!node->names) {
        /* The link made the name this file's: an older binding of it is
         * stale. */
        old = find_name(fs, parent, name);
        if (old)
            drop_name_locked(fs, old, &closing);
        add_name_locked(fs, node, parent, nm, copy);
        nm = NULL;
        copy = NULL;
        maybe_grow(fs);
    }
    pthread_mutex_unlock(&t->lock);
    free_closed(fs, closing);
out:
    free(nm);
    free(copy);
    return err;
}
