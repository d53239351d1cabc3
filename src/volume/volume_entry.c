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

#include "acl.h"
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

/* The node a request names, held in t->node (or as @slot says). */
static int hold_node(struct fsp_txn *t, uint64_t nodeid,
                     struct fsp_node **slot)
{
    *slot = fsp_node_get(t->fs, nodeid);
    return *slot ? 0 : -ESTALE;
}

/* How many times LOOKUP asks while directory renames race it. */
#define LOOKUP_ATTEMPTS 3

int fsp_vol_lookup(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    int err;

    if (!t->parent) {
        err = hold_node(t, t->in.nodeid, &t->parent);
        if (err)
            return err;
    }
    /* The paths before the ask: a directory rename that runs meanwhile
     * may make the answer about the path's old or new meaning (see
     * fsp_node_paths_snapshot); complete asks again then. */
    t->snap = fsp_node_paths_snapshot(fs);
    t->notify_calls = atomic_load(&fs->notify_calls);
    free(t->path);
    t->path = fsp_node_path(fs, t->parent, t->in.name, &err);
    if (!t->path)
        return err;
    if (!fs->iface.get_file_info_by_name)
        return -ENOSYS;
    t->attempt++;
    return fsp_txn_called(t, fs->iface.get_file_info_by_name(
                                 fs, t->path, &fsp_txn_rsp(t)->file_info));
}

int fsp_vol_lookup_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    struct fsp_fs *fs = t->fs;
    bool stable = fsp_node_paths_unchanged(fs, &t->snap);
    /* A notification while the file system answered (another mount's
     * change, say) may have reached the kernel before this reply: the
     * answer may be what it said is stale, and the kernel would keep it
     * for the whole timeout. Ask again. */
    bool noticed = atomic_load(&fs->notify_calls) != t->notify_calls;

    if ((!stable || noticed) && t->attempt < LOOKUP_ATTEMPTS) {
        if (!stable)
            fsp_node_paths_wait(fs);
        return FSP_TXN_CONTINUE;
    }
    stable = stable && !noticed;
    /* A "no such name" raced by renames or notifications is answered,
     * never cached. */
    if (rsp->error == -ENOENT && fs->params.negative_timeout_ms != 0 &&
        stable) {
        /* A negative entry: node id 0 with a timeout lets the kernel
         * remember that the name does not exist. */
        memset(&t->out.entry, 0, sizeof t->out.entry);
        fsp_proto_timeout(fs->params.negative_timeout_ms,
                          &t->out.entry.entry_valid,
                          &t->out.entry.entry_valid_nsec);
        return 0;
    }
    if (rsp->error)
        return rsp->error;
    return entry_of(t, t->parent, t->in.name, &rsp->file_info, NULL);
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
    const struct fuse_getattr_in *in = t->in.arg;
    bool has_fh = in && (in->getattr_flags & FUSE_GETATTR_FH);

    return fsp_volume_get_info(t, has_fh, has_fh ? in->fh : 0);
}

int fsp_volume_get_info(struct fsp_txn *t, bool has_fh, uint64_t fh)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_handle *h = NULL;
    void *ctx;
    int err;

    err = hold_node(t, t->in.nodeid, &t->node);
    if (err)
        return err;
    if (has_fh)
        h = fsp_handle_get(fs, fh);
    pthread_mutex_lock(&fs->nodes.lock);
    ctx = h ? h->ctx : t->node->meta_ctx;
    pthread_mutex_unlock(&fs->nodes.lock);
    if (ctx && fs->iface.get_file_info)
        return fsp_txn_called(t, fs->iface.get_file_info(
                                     fs, ctx, &fsp_txn_rsp(t)->file_info));
    if (!fs->iface.get_file_info_by_name)
        return -ENOSYS;
    t->path = fsp_node_path(fs, t->node, NULL, &err);
    if (!t->path)
        return err;
    return fsp_txn_called(t, fs->iface.get_file_info_by_name(
                                 fs, t->path, &fsp_txn_rsp(t)->file_info));
}

int fsp_vol_getattr_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (rsp->error)
        return rsp->error;
    fsp_vol_note_dir_ino(t->fs, t->node, &rsp->file_info);
    fsp_volume_fill_attr_out(t->fs, t->node->nodeid, &rsp->file_info,
                             &t->out.attr);
    return 0;
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

/* SETATTR's steps, in order; each runs only if the request asks for it. */
enum {
    SETATTR_BEGIN,
    SETATTR_SIZE,       /* set_file_size() */
    SETATTR_BASIC,      /* set_basic_info() */
    SETATTR_QUERY,      /* nothing the volume stores changes (e.g. only
                           FATTR_LOCKOWNER): get_file_info() */
};

int fsp_vol_setattr(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_setattr_in *in = t->in.arg;
    fsp_response_t *rsp;
    int err;

    if (t->step == SETATTR_BEGIN) {
        err = hold_node(t, t->in.nodeid, &t->node);
        if (err)
            return err;
        if (fs->params.read_only)
            return -EROFS;
        err = context_for(fs, t->node, in->valid & FATTR_FH, in->fh,
                          &t->ctx);
        if (err)
            return err;
        t->bits = basic_info_bits(in, &t->wanted);
        t->step = (in->valid & FATTR_SIZE) ? SETATTR_SIZE
                  : t->bits                ? SETATTR_BASIC
                                           : SETATTR_QUERY;
    }
    if (t->step >= FSP_ACL_CHMOD_READ)
        return fsp_acl_chmod_step(t);
    rsp = fsp_txn_rsp(t);
    switch (t->step) {
    case SETATTR_SIZE:
        if (!fs->iface.set_file_size)
            return -ENOSYS;
        return fsp_txn_called(t, fs->iface.set_file_size(
                                     fs, t->ctx, in->size, &rsp->file_info));
    case SETATTR_BASIC:
        if (!fs->iface.set_basic_info)
            return -ENOSYS;
        return fsp_txn_called(t, fs->iface.set_basic_info(
                                     fs, t->ctx, t->bits, &t->wanted,
                                     &rsp->file_info));
    default:
        if (!fs->iface.get_file_info)
            return -ENOSYS;
        return fsp_txn_called(t, fs->iface.get_file_info(fs, t->ctx,
                                                         &rsp->file_info));
    }
}

int fsp_vol_setattr_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const fsp_file_info_t *info = &rsp->file_info;
    int err;

    if (t->step >= FSP_ACL_CHMOD_READ) {
        err = fsp_acl_chmod_next(t, rsp);
        if (err)
            return err;
        info = &t->acl->info;
    } else if (rsp->error) {
        return rsp->error;
    } else if (t->step == SETATTR_SIZE && t->bits) {
        t->step = SETATTR_BASIC;
        return FSP_TXN_CONTINUE;
    } else if (t->step == SETATTR_BASIC && (t->bits & FSP_SET_MODE) &&
               fsp_acl_by_fsp(t->fs)) {
        /* chmod: a stored access ACL follows the new mode. */
        err = fsp_acl_chmod_begin(t, info);
        return err ? err : FSP_TXN_CONTINUE;
    }
    fsp_volume_fill_attr_out(t->fs, t->node->nodeid, info, &t->out.attr);
    return 0;
}

int fsp_vol_readlink(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    char *buf = t->reply_buf;
    int err;

    err = hold_node(t, t->in.nodeid, &t->node);
    if (err)
        return err;
    buf[0] = '\0';
    fsp_txn_rsp(t);
    if (fs->iface.get_reparse_point_by_name) {
        /* By name: no meta context to open, and the link need not exist
         * as a file at all (a redirection, a junction). */
        t->path = fsp_node_path(fs, t->node, NULL, &err);
        if (!t->path)
            return err;
        return fsp_txn_called(t, fs->iface.get_reparse_point_by_name(
                                     fs, t->path, buf, t->reply_buf_size));
    }
    if (!fs->iface.get_reparse_point)
        return -ENOSYS;
    err = fsp_node_meta_ctx(fs, t->node, &t->ctx);
    if (err)
        return err;
    return fsp_txn_called(t, fs->iface.get_reparse_point(
                                 fs, t->ctx, buf, t->reply_buf_size));
}

int fsp_vol_readlink_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (rsp->error)
        return rsp->error;
    t->data = t->reply_buf;
    t->data_size = strnlen(t->reply_buf, t->reply_buf_size);
    return 0;
}

/* MKNOD, MKDIR, SYMLINK: create() then the new entry. */
static int make_node(struct fsp_txn *t, uint32_t mode, uint32_t rdev,
                     const char *link_target)
{
    fsp_create_info_t ci;

    memset(&ci, 0, sizeof ci);
    ci.mode = mode;
    ci.rdev = rdev;
    ci.link_target = link_target;
    return fsp_volume_create(t, &ci);
}

int fsp_vol_make_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const fsp_file_info_t *info;
    int err;

    err = fsp_volume_created(t, rsp, &info);
    if (err)
        return err;
    t->ctx_owned = false;       /* entry_of's now */
    return entry_of(t, t->parent, t->in.name, info, t->ctx);
}

int fsp_vol_mknod(struct fsp_txn *t)
{
    const struct fuse_mknod_in *in = t->in.arg;

    return make_node(t, in->mode, in->rdev, NULL);
}

int fsp_vol_mkdir(struct fsp_txn *t)
{
    const struct fuse_mkdir_in *in = t->in.arg;

    return make_node(t, (in->mode & 07777) | S_IFDIR, 0, NULL);
}

int fsp_vol_symlink(struct fsp_txn *t)
{
    return make_node(t, S_IFLNK | 0777, 0, t->in.name2);
}

/*
 * The file context for the name t->path (t->in.name under t->parent) that
 * UNLINK or RENAME acts on, into t->ctx: the meta context of its node when
 * the kernel knows it (it usually does, having looked the name up first;
 * the node is held in t->child), else a temporary FSP_OPEN_META open that
 * the release closes (t->temp_ctx).
 */
static int context_of_name(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    fsp_file_info_t info;
    int err;

    t->child = fsp_node_find_child(fs, t->parent, t->in.name);
    if (t->child)
        return fsp_node_meta_ctx(fs, t->child, &t->ctx);
    memset(&info, 0, sizeof info);
    err = fs->iface.open(fs, t->path, FSP_OPEN_META, &t->temp_ctx, &info);
    if (err == FSP_PENDING) {
        fsp_log(fs, "open(%s, FSP_OPEN_META) returned FSP_PENDING, which "
                "it may not; answering EIO", t->path);
        t->temp_ctx = NULL;
        return -EIO;
    }
    t->ctx = t->temp_ctx;
    return err;
}

/* UNLINK and RMDIR: the kernel checked the type (EISDIR / ENOTDIR). */
int fsp_vol_remove(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    int err;

    err = fsp_volume_hold_change(t);
    if (err)
        return err;
    if (!fs->iface.unlink || !fs->iface.open)
        return -ENOSYS;
    /* The node's meta context stays valid after the unlink, for files
     * that are still open. */
    err = context_of_name(t);
    if (err)
        return err;
    fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.unlink(fs, t->ctx, t->path));
}

int fsp_vol_remove_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (!rsp->error)
        fsp_node_unlinked(t->fs, t->parent, t->in.name);
    return rsp->error;
}

static int do_rename(struct fsp_txn *t, uint64_t newdir, unsigned flags)
{
    struct fsp_fs *fs = t->fs;
    int err;

    err = hold_node(t, t->in.nodeid, &t->parent);
    if (err)
        return err;
    err = hold_node(t, newdir, &t->other);
    if (err)
        return err;
    if (flags & ~(unsigned)(FSP_RENAME_NOREPLACE | FSP_RENAME_EXCHANGE |
                            FSP_RENAME_WHITEOUT))
        return -EINVAL;         /* unknown flags */
    t->path = fsp_volume_path_to_change(fs, t->parent, t->in.name, &err);
    if (!t->path)
        return err;
    t->path2 = fsp_node_path(fs, t->other, t->in.name2, &err);
    if (!t->path2)
        return err;
    if (!fs->iface.rename || !fs->iface.open)
        return -ENOSYS;
    err = context_of_name(t);
    if (err)
        return err;
    /* An exchange may move a directory the other way too. The bracket
     * ends when the rename is recorded (complete) or at the release. */
    if (!t->child || t->child->is_dir || (flags & FSP_RENAME_EXCHANGE)) {
        fsp_node_dir_rename_begin(fs);
        t->renaming_dir = true;
    }
    t->bits = flags;
    fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.rename(fs, t->ctx, t->path, t->path2,
                                              flags));
}

int fsp_vol_rename_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    int err = rsp->error;

    if (!err)
        err = fsp_node_renamed(t->fs, t->parent, t->in.name, t->other,
                               t->in.name2, t->bits);
    if (t->renaming_dir) {
        fsp_node_dir_rename_end(t->fs);
        t->renaming_dir = false;
    }
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
    if (in->flags & RENAME_WHITEOUT)
        flags |= FSP_RENAME_WHITEOUT;
    if (in->flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE |
                                RENAME_WHITEOUT))
        flags |= 1u << 31;      /* unknown: do_rename answers EINVAL */
    return do_rename(t, in->newdir, flags);
}

int fsp_vol_link(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_link_in *in = t->in.arg;
    int err;

    err = fsp_volume_hold_change(t);
    if (err)
        return err;
    err = hold_node(t, in->oldnodeid, &t->other);
    if (err)
        return err;
    if (!fs->iface.link)
        return -ENOSYS;
    err = fsp_node_meta_ctx(fs, t->other, &t->ctx);
    if (err)
        return err;
    return fsp_txn_called(t, fs->iface.link(fs, t->ctx, t->path,
                                            &fsp_txn_rsp(t)->file_info));
}

int fsp_vol_link_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    int err;

    if (rsp->error)
        return rsp->error;
    /* An O_TMPFILE file's first name: its node is the one the kernel
     * knows (volume_tmpfile.c). */
    err = fsp_node_name_unnamed(t->fs, t->other, t->parent, t->in.name);
    if (err)
        return err;
    return entry_of(t, t->parent, t->in.name, &rsp->file_info, NULL);
}

void fsp_txn_release(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;

    if (t->renaming_dir)
        fsp_node_dir_rename_end(fs);
    if (t->temp_ctx && fs->iface.close)
        fs->iface.close(fs, t->temp_ctx);
    if (t->ctx_owned && t->ctx && fs->iface.close)
        fs->iface.close(fs, t->ctx);
    free(t->path);
    free(t->path2);
    free(t->acl);
    if (t->handle_out)
        fsp_handle_unpin(fs, t->handle_out);
    fsp_node_put(fs, t->child);
    fsp_node_put(fs, t->other);
    fsp_node_put(fs, t->node);
    fsp_node_put(fs, t->parent);
}
