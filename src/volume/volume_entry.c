/*
 * volume_entry.c - names and attributes: LOOKUP, FORGET, GETATTR, SETATTR,
 * READLINK, MKNOD, MKDIR, SYMLINK, UNLINK, RMDIR, RENAME(2), LINK.
 *
 * Name-based requests build the path from the node table and call the
 * interface's name-based callbacks (get_file_info_by_name, create, open).
 * Requests on a node that carry no file handle use the node's meta context:
 * an FSP_OPEN_META open made on first use and closed when the kernel
 * forgets the node. That also keeps unlinked-but-known files reachable.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"
#include "txn.h"

/* The response to a request that made or found @name under @parent: count
 * the kernel's lookup (which the undelivered step fsp_undo_entry gives back
 * if the reply does not reach it) and fill in the entry. A fresh context
 * from create() (@meta_ctx) becomes the node's meta context: the next
 * chmod or getxattr then needs no open. Returns 0 or -ENOMEM. */
static int entry_of(struct fsp_txn *t, struct fsp_node *parent,
                    const char *name, const fsp_file_info_t *info,
                    void *meta_ctx)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *node;

    node = fsp_node_lookup_child(fs, parent, name, info, true);
    if (!node) {
        if (meta_ctx && fs->iface.close)
            fs->iface.close(fs, meta_ctx);
        return -ENOMEM;
    }
    if (meta_ctx)
        fsp_node_adopt_meta_ctx(fs, node, meta_ctx);
    fsp_volume_fill_entry(fs, node, info, &t->out.entry);
    fsp_node_put(fs, node);
    return 0;
}

/* How many times LOOKUP asks while directory renames race it. */
#define LOOKUP_ATTEMPTS 3

int fsp_vol_lookup(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *parent;
    struct fsp_paths_snapshot snap;
    fsp_file_info_t info;
    char *path = NULL;
    bool stable = false;
    int err;

    parent = fsp_node_get(fs, t->in.nodeid);
    if (!parent)
        return -ESTALE;
    /* Ask again when a directory rename ran meanwhile: the answer may be
     * about the path's old or new meaning (see fsp_node_paths_snapshot). */
    for (int attempt = 0;; attempt++) {
        snap = fsp_node_paths_snapshot(fs);
        path = fsp_node_path(fs, parent, t->in.name, &err);
        if (!path)
            goto out;
        err = -ENOSYS;
        memset(&info, 0, sizeof info);
        if (fs->iface.get_file_info_by_name)
            err = fs->iface.get_file_info_by_name(fs, path, &info);
        stable = fsp_node_paths_unchanged(fs, &snap);
        if (stable || attempt == LOOKUP_ATTEMPTS - 1)
            break;
        free(path);
        path = NULL;
        fsp_node_paths_wait(fs);
    }
    /* A "no such name" raced by renames is answered, never cached. */
    if (err == -ENOENT && fs->params.negative_timeout_ms != 0 && stable) {
        /* A negative entry: node id 0 with a timeout lets the kernel
         * remember that the name does not exist. */
        memset(&t->out.entry, 0, sizeof t->out.entry);
        fsp_proto_timeout(fs->params.negative_timeout_ms,
                          &t->out.entry.entry_valid,
                          &t->out.entry.entry_valid_nsec);
        err = 0;
        goto out;
    }
    if (err)
        goto out;
    err = entry_of(t, parent, t->in.name, &info, NULL);
out:
    free(path);
    fsp_node_put(fs, parent);
    return err;
}

int fsp_vol_forget(struct fsp_txn *t)
{
    const struct fuse_forget_in *in = t->in.arg;

    fsp_node_forget(t->fs, t->in.nodeid, in->nlookup);
    return 0;
}

int fsp_vol_batch_forget(struct fsp_txn *t)
{
    const struct fuse_batch_forget_in *in = t->in.arg;
    const struct fuse_forget_one *one = t->in.data;

    for (uint32_t i = 0; i < in->count; i++)
        fsp_node_forget(t->fs, one[i].nodeid, one[i].nlookup);
    return 0;
}

/* The file context for a request on @node: the open handle @fh if the
 * kernel named one, else the node's meta context. */
static int context_for(struct fsp_fs *fs, struct fsp_node *node,
                       bool has_fh, uint64_t fh, void **ctx)
{
    if (has_fh) {
        struct fsp_handle *h = fsp_handle_get(fs, fh);

        if (h) {
            *ctx = h->ctx;
            return 0;
        }
    }
    return fsp_node_meta_ctx(fs, node, ctx);
}

int fsp_vol_getattr(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_getattr_in *in = t->in.arg;
    struct fsp_node *node;
    fsp_file_info_t info;
    struct fsp_handle *h = NULL;
    void *ctx = NULL;
    int err = -ENOSYS;

    node = fsp_node_get(fs, t->in.nodeid);
    if (!node)
        return -ESTALE;
    memset(&info, 0, sizeof info);
    if (in && (in->getattr_flags & FUSE_GETATTR_FH))
        h = fsp_handle_get(fs, in->fh);
    pthread_mutex_lock(&fs->nodes.lock);
    ctx = h ? h->ctx : node->meta_ctx;
    pthread_mutex_unlock(&fs->nodes.lock);
    if (ctx && fs->iface.get_file_info) {
        err = fs->iface.get_file_info(fs, ctx, &info);
    } else if (fs->iface.get_file_info_by_name) {
        char *path = fsp_node_path(fs, node, NULL, &err);

        if (path)
            err = fs->iface.get_file_info_by_name(fs, path, &info);
        free(path);
    }
    if (!err)
        fsp_volume_fill_attr_out(fs, node->nodeid, &info, &t->out.attr);
    fsp_node_put(fs, node);
    return err;
}

/* Translate SETATTR's valid bits into set_basic_info()'s. */
static uint32_t basic_info_bits(const struct fuse_setattr_in *in,
                                fsp_file_info_t *n)
{
    uint32_t v = 0;

    memset(n, 0, sizeof *n);
    if (in->valid & FATTR_MODE) {
        v |= FSP_SET_MODE;
        n->mode = in->mode;
    }
    if (in->valid & FATTR_UID) {
        v |= FSP_SET_UID;
        n->uid = in->uid;
    }
    if (in->valid & FATTR_GID) {
        v |= FSP_SET_GID;
        n->gid = in->gid;
    }
    if (in->valid & FATTR_ATIME_NOW) {
        v |= FSP_SET_ATIME_NOW;
    } else if (in->valid & FATTR_ATIME) {
        v |= FSP_SET_ATIME;
        n->atime.tv_sec = (time_t)in->atime;
        n->atime.tv_nsec = in->atimensec;
    }
    if (in->valid & FATTR_MTIME_NOW) {
        v |= FSP_SET_MTIME_NOW;
    } else if (in->valid & FATTR_MTIME) {
        v |= FSP_SET_MTIME;
        n->mtime.tv_sec = (time_t)in->mtime;
        n->mtime.tv_nsec = in->mtimensec;
    }
    if (in->valid & FATTR_CTIME) {
        v |= FSP_SET_CTIME;
        n->ctime.tv_sec = (time_t)in->ctime;
        n->ctime.tv_nsec = in->ctimensec;
    }
    if (in->valid & FATTR_KILL_SUIDGID)
        v |= FSP_SET_KILL_SUID;
    return v;
}

int fsp_vol_setattr(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_setattr_in *in = t->in.arg;
    struct fsp_node *node;
    fsp_file_info_t info, wanted;
    uint32_t bits;
    void *ctx = NULL;
    int err;

    node = fsp_node_get(fs, t->in.nodeid);
    if (!node)
        return -ESTALE;
    memset(&info, 0, sizeof info);
    err = -EROFS;
    if (fs->params.read_only)
        goto out;
    err = context_for(fs, node, in->valid & FATTR_FH, in->fh, &ctx);
    if (err)
        goto out;
    if (in->valid & FATTR_SIZE) {
        err = -ENOSYS;
        if (fs->iface.set_file_size)
            err = fs->iface.set_file_size(fs, ctx, in->size, &info);
        if (err)
            goto out;
    }
    bits = basic_info_bits(in, &wanted);
    if (bits) {
        err = -ENOSYS;
        memset(&info, 0, sizeof info);
        if (fs->iface.set_basic_info)
            err = fs->iface.set_basic_info(fs, ctx, bits, &wanted, &info);
        if (err)
            goto out;
    }
    if (!(in->valid & FATTR_SIZE) && !bits) {
        /* Nothing the volume stores changed (e.g. only FATTR_LOCKOWNER). */
        err = -ENOSYS;
        if (fs->iface.get_file_info)
            err = fs->iface.get_file_info(fs, ctx, &info);
        if (err)
            goto out;
    }
    fsp_volume_fill_attr_out(fs, node->nodeid, &info, &t->out.attr);
out:
    fsp_node_put(fs, node);
    return err;
}

int fsp_vol_readlink(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *node;
    char *buf = t->reply_buf, *path = NULL;
    void *ctx;
    int err = -ENOSYS;

    node = fsp_node_get(fs, t->in.nodeid);
    if (!node)
        return -ESTALE;
    buf[0] = '\0';
    if (fs->iface.get_reparse_point_by_name) {
        /* By name: no meta context to open, and the link need not exist
         * as a file at all (a redirection, a junction). */
        path = fsp_node_path(fs, node, NULL, &err);
        if (path)
            err = fs->iface.get_reparse_point_by_name(fs, path, buf,
                                                      t->reply_buf_size);
    } else if (fs->iface.get_reparse_point) {
        err = fsp_node_meta_ctx(fs, node, &ctx);
        if (!err)
            err = fs->iface.get_reparse_point(fs, ctx, buf,
                                              t->reply_buf_size);
    }
    if (!err) {
        t->data = buf;
        t->data_size = strnlen(buf, t->reply_buf_size);
    }
    free(path);
    fsp_node_put(fs, node);
    return err;
}

/* MKNOD, MKDIR, SYMLINK: create() then the new entry. */
static int make_node(struct fsp_txn *t, uint32_t mode, uint32_t rdev,
                     const char *name, const char *link_target)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *parent;
    fsp_create_info_t ci;
    fsp_file_info_t info;
    void *ctx = NULL;
    char *path = NULL;
    int err;

    parent = fsp_node_get(fs, t->in.nodeid);
    if (!parent)
        return -ESTALE;
    path = fsp_volume_path_to_change(fs, parent, name, &err);
    if (!path)
        goto out;
    memset(&ci, 0, sizeof ci);
    ci.mode = mode;
    ci.rdev = rdev;
    ci.uid = t->in.hdr->uid;
    ci.gid = t->in.hdr->gid;
    ci.link_target = link_target;
    memset(&info, 0, sizeof info);
    err = -ENOSYS;
    if (fs->iface.create)
        err = fs->iface.create(fs, path, &ci, &ctx, &info);
    if (err)
        goto out;
    err = entry_of(t, parent, name, &info, ctx);
out:
    free(path);
    fsp_node_put(fs, parent);
    return err;
}

int fsp_vol_mknod(struct fsp_txn *t)
{
    const struct fuse_mknod_in *in = t->in.arg;

    return make_node(t, in->mode, in->rdev, t->in.name, NULL);
}

int fsp_vol_mkdir(struct fsp_txn *t)
{
    const struct fuse_mkdir_in *in = t->in.arg;

    return make_node(t, (in->mode & 07777) | S_IFDIR, 0, t->in.name, NULL);
}

int fsp_vol_symlink(struct fsp_txn *t)
{
    return make_node(t, S_IFLNK | 0777, 0, t->in.name, t->in.name2);
}

/*
 * The file context for the name @path (@name under @parent) that UNLINK
 * or RENAME acts on: the meta context of its node when the kernel knows
 * it (it usually does, having looked the name up first), else a temporary
 * FSP_OPEN_META open that the caller closes (*temp_ctx). *child gets a
 * reference to the node, or NULL.
 */
static int context_of_name(struct fsp_fs *fs, struct fsp_node *parent,
                           const char *name, const char *path,
                           struct fsp_node **child, void **temp_ctx,
                           void **ctx)
{
    fsp_file_info_t info;
    int err;

    *temp_ctx = NULL;
    *ctx = NULL;
    *child = fsp_node_find_child(fs, parent, name);
    if (*child)
        return fsp_node_meta_ctx(fs, *child, ctx);
    memset(&info, 0, sizeof info);
    err = fs->iface.open(fs, path, FSP_OPEN_META, temp_ctx, &info);
    *ctx = *temp_ctx;
    return err;
}

/* UNLINK and RMDIR: the kernel checked the type (EISDIR / ENOTDIR). */
static int remove_name(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *parent, *child = NULL;
    void *ctx = NULL, *temp_ctx = NULL;
    char *path = NULL;
    int err;

    parent = fsp_node_get(fs, t->in.nodeid);
    if (!parent)
        return -ESTALE;
    path = fsp_volume_path_to_change(fs, parent, t->in.name, &err);
    if (!path)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.unlink || !fs->iface.open)
        goto out;
    /* The node's meta context stays valid after the unlink, for files
     * that are still open. */
    err = context_of_name(fs, parent, t->in.name, path, &child, &temp_ctx,
                          &ctx);
    if (err)
        goto out;
    err = fs->iface.unlink(fs, ctx, path);
    if (!err)
        fsp_node_unlinked(fs, parent, t->in.name);
out:
    if (temp_ctx && fs->iface.close)
        fs->iface.close(fs, temp_ctx);
    free(path);
    fsp_node_put(fs, child);
    fsp_node_put(fs, parent);
    return err;
}

int fsp_vol_unlink(struct fsp_txn *t)
{
    return remove_name(t);
}

int fsp_vol_rmdir(struct fsp_txn *t)
{
    return remove_name(t);
}

static int do_rename(struct fsp_txn *t, uint64_t newdir, unsigned flags)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *parent, *newparent = NULL, *child = NULL;
    void *ctx = NULL, *temp_ctx = NULL;
    char *path = NULL, *newpath = NULL;
    bool moves_dir;
    int err;

    parent = fsp_node_get(fs, t->in.nodeid);
    if (!parent)
        return -ESTALE;
    err = -ESTALE;
    newparent = fsp_node_get(fs, newdir);
    if (!newparent)
        goto out;
    err = -EINVAL;
    if (flags & ~(unsigned)(FSP_RENAME_NOREPLACE | FSP_RENAME_EXCHANGE))
        goto out;               /* RENAME_WHITEOUT and the unknown */
    path = fsp_volume_path_to_change(fs, parent, t->in.name, &err);
    if (!path)
        goto out;
    newpath = fsp_node_path(fs, newparent, t->in.name2, &err);
    if (!newpath)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.rename || !fs->iface.open)
        goto out;
    err = context_of_name(fs, parent, t->in.name, path, &child, &temp_ctx,
                          &ctx);
    if (err)
        goto out;
    /* An exchange may move a directory the other way too. */
    moves_dir = !child || child->is_dir || (flags & FSP_RENAME_EXCHANGE);
    if (moves_dir)
        fsp_node_dir_rename_begin(fs);
    err = fs->iface.rename(fs, ctx, path, newpath, flags);
    if (!err)
        err = fsp_node_renamed(fs, parent, t->in.name, newparent,
                               t->in.name2, flags);
    if (moves_dir)
        fsp_node_dir_rename_end(fs);
out:
    if (temp_ctx && fs->iface.close)
        fs->iface.close(fs, temp_ctx);
    free(path);
    free(newpath);
    fsp_node_put(fs, child);
    fsp_node_put(fs, newparent);
    fsp_node_put(fs, parent);
    return err;
}

int fsp_vol_rename(struct fsp_txn *t)
{
    const struct fuse_rename_in *in = t->in.arg;

    return do_rename(t, in->newdir, 0);
}

int fsp_vol_rename2(struct fsp_txn *t)
{
    const struct fuse_rename2_in *in = t->in.arg;
    unsigned flags = 0;

    if (in->flags & RENAME_NOREPLACE)
        flags |= FSP_RENAME_NOREPLACE;
    if (in->flags & RENAME_EXCHANGE)
        flags |= FSP_RENAME_EXCHANGE;
    if (in->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        flags |= 1u << 31;      /* unknown: do_rename answers EINVAL */
    return do_rename(t, in->newdir, flags);
}

int fsp_vol_link(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_link_in *in = t->in.arg;
    struct fsp_node *node, *newparent;
    fsp_file_info_t info;
    char *newpath = NULL;
    void *ctx;
    int err;

    newparent = fsp_node_get(fs, t->in.nodeid);
    if (!newparent)
        return -ESTALE;
    err = -ESTALE;
    node = fsp_node_get(fs, in->oldnodeid);
    if (!node)
        goto out;
    newpath = fsp_volume_path_to_change(fs, newparent, t->in.name, &err);
    if (!newpath)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.link)
        goto out;
    err = fsp_node_meta_ctx(fs, node, &ctx);
    if (err)
        goto out;
    memset(&info, 0, sizeof info);
    err = fs->iface.link(fs, ctx, newpath, &info);
    if (err)
        goto out;
    err = entry_of(t, newparent, t->in.name, &info, NULL);
out:
    free(newpath);
    fsp_node_put(fs, node);
    fsp_node_put(fs, newparent);
    return err;
}
