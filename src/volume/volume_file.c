/*
 * volume_file.c - open files: OPEN, OPENDIR, CREATE, READ, WRITE, FLUSH,
 * RELEASE, FSYNC, FALLOCATE, SYNCFS, and the extended attribute requests.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fs_internal.h"
#include "txn.h"

/* FOPEN_* flags for a new open of a regular file. */
static uint32_t open_flags_for(struct fsp_fs *fs)
{
    uint32_t f = 0;

    if (fs->params.keep_cache)
        f |= FOPEN_KEEP_CACHE;
    /* FLUSH is only useful to a file system that has something to do at
     * every close(2); fsp's interface has no such callback, so skip it. */
    f |= FOPEN_NOFLUSH;
    return f;
}

static bool open_writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY;
}

/* OPEN and OPENDIR: open() by path, then a handle for the kernel (which
 * the undelivered step fsp_undo_open releases if the reply is lost: no
 * RELEASE would ever come for it, go-fuse #369). */
static int open_node(struct fsp_txn *t, bool is_dir)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_open_in *in = t->in.arg;
    struct fuse_open_out *out = &t->out.open;
    struct fsp_node *node;
    fsp_file_info_t info;
    void *ctx = NULL;
    char *path = NULL;
    int err, flags = (int)in->flags;

    /* One context per file: ENOSYS once, and the kernel stops sending
     * OPEN (OPENDIR) and RELEASE (RELEASEDIR) for good; later requests
     * name fh 0, the node's shared handle (handle_shared.c). */
    if (fs->params.per_file_context)
        return -ENOSYS;
    node = fsp_node_get(fs, t->in.nodeid);
    if (!node)
        return -ESTALE;
    err = -EROFS;
    if (fs->params.read_only && (open_writes(flags) || (flags & O_TRUNC)))
        goto out;
    path = fsp_node_path(fs, node, NULL, &err);
    if (!path)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.open)
        goto out;
    memset(&info, 0, sizeof info);
    err = fs->iface.open(fs, path,
                         is_dir ? flags | O_DIRECTORY : flags & ~O_TRUNC,
                         &ctx, &info);
    if (err)
        goto out;
    /* ATOMIC_O_TRUNC: the kernel leaves the truncation to us. */
    if (!is_dir && (flags & O_TRUNC) && open_writes(flags) &&
        S_ISREG(info.mode)) {
        err = -ENOSYS;
        if (fs->iface.overwrite)
            err = fs->iface.overwrite(fs, ctx);
        if (!err && (in->open_flags & FUSE_OPEN_KILL_SUIDGID))
            err = fsp_passthrough_kill_suid(fs, ctx);
        if (err)
            goto out_close;
    }
    memset(out, 0, sizeof *out);
    out->fh = fsp_handle_open(fs, ctx, node, flags, is_dir);
    err = -ENOMEM;
    if (!out->fh)
        goto out_close;
    if (!is_dir)
        out->open_flags = open_flags_for(fs);
    else if (fs->params.dir_info_timeout_ms == FSP_TIMEOUT_INFINITE)
        /* With a directory timeout of forever the kernel may keep the
         * listing it read. */
        out->open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
    err = fsp_passthrough_open(fs, out->fh, info.mode, out);
    if (err)
        fsp_handle_release(fs, out->fh); /* closes the context */
    goto out;
out_close:
    if (fs->iface.close)
        fs->iface.close(fs, ctx);
out:
    free(path);
    fsp_node_put(fs, node);
    return err;
}

int fsp_vol_open(struct fsp_txn *t)
{
    return open_node(t, false);
}

int fsp_vol_opendir(struct fsp_txn *t)
{
    return open_node(t, true);
}

/* CREATE: create(), the new entry, and an open file; the undelivered step
 * fsp_undo_create gives back both the lookup and the handle. */
int fsp_vol_create(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_create_in *in = t->in.arg;
    struct fuse_open_out *out = &t->out.create.open;
    struct fsp_node *parent, *node = NULL;
    fsp_create_info_t ci;
    fsp_file_info_t info;
    void *ctx = NULL;
    char *path = NULL;
    int err;

    parent = fsp_node_get(fs, t->in.nodeid);
    if (!parent)
        return -ESTALE;
    path = fsp_volume_path_to_change(fs, parent, t->in.name, &err);
    if (!path)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.create)
        goto out;
    memset(&ci, 0, sizeof ci);
    ci.mode = in->mode;
    if (!(ci.mode & S_IFMT))
        ci.mode |= S_IFREG;
    ci.uid = t->in.hdr->uid;
    ci.gid = t->in.hdr->gid;
    ci.flags = (int)in->flags;
    memset(&info, 0, sizeof info);
    err = fs->iface.create(fs, path, &ci, &ctx, &info);
    if (err)
        goto out;
    err = -ENOMEM;
    node = fsp_node_lookup_child(fs, parent, t->in.name, &info, true);
    if (!node)
        goto out_close;
    memset(out, 0, sizeof *out);
    out->open_flags = open_flags_for(fs);
    if (fs->params.per_file_context) {
        /* Once OPEN has been answered ENOSYS the kernel sends no RELEASE
         * for any file, created ones included: a handle of its own would
         * pin the node (and an unlinked file's data) forever. The created
         * context becomes the node's meta context instead, closed when the
         * kernel forgets the node, and fh 0 names the node's shared handle
         * (a RELEASE of it, before the first OPEN, is answered at once). */
        fsp_node_adopt_meta_ctx(fs, node, ctx);
    } else {
        out->fh = fsp_handle_open(fs, ctx, node, (int)in->flags, false);
        if (!out->fh) {
            fsp_node_forget(fs, node->nodeid, 1);
            goto out_close;
        }
        err = fsp_passthrough_open(fs, out->fh, info.mode, out);
        if (err) {
            fsp_handle_release(fs, out->fh); /* closes the context */
            fsp_node_forget(fs, node->nodeid, 1);
            goto out;
        }
    }
    fsp_volume_fill_entry(fs, node, &info, &t->out.create.entry);
    err = 0;
    goto out;
out_close:
    if (fs->iface.close)
        fs->iface.close(fs, ctx);
out:
    free(path);
    fsp_node_put(fs, node);
    fsp_node_put(fs, parent);
    return err;
}

int fsp_vol_read(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_read_in *in = t->in.arg;
    fsp_response_t rsp;
    int err;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    if (!fs->iface.read)
        return -ENOSYS;
    t->size = in->size < t->reply_buf_size ? in->size : t->reply_buf_size;
    err = fs->iface.read(fs, t->handle->ctx, t->reply_buf, in->offset,
                         t->size, &t->bytes);
    if (err == FSP_PENDING)
        return err;
    memset(&rsp, 0, sizeof rsp);
    rsp.error = err;
    rsp.bytes_transferred = t->bytes;
    return fsp_vol_read_complete(t, &rsp);
}

/* READ's response: the data the callback put in the reply buffer. */
int fsp_vol_read_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    size_t done = rsp->bytes_transferred;

    if (rsp->error)
        return rsp->error;
    t->data = t->reply_buf;
    t->data_size = done < t->size ? done : t->size;
    return 0;
}

int fsp_vol_write(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_write_in *in = t->in.arg;
    fsp_response_t rsp;
    int err, flags = 0;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    if (!fs->iface.write)
        return -ENOSYS;
    /* A shared handle has no open flags of its own; the kernel sends the
     * file's with each WRITE. */
    if ((t->handle->shared ? (int)in->flags : t->handle->flags) & O_APPEND)
        flags |= FSP_WRITE_TO_END_OF_FILE;
    /* Like the kernel's own write path: privileges go before the data. */
    if (in->write_flags & FUSE_WRITE_KILL_SUIDGID) {
        err = fsp_passthrough_kill_suid(fs, t->handle->ctx);
        if (err)
            return err;
    }
    t->size = t->in.data_size;
    err = fs->iface.write(fs, t->handle->ctx, t->in.data, in->offset,
                          t->size, flags, &t->bytes);
    if (err == FSP_PENDING)
        return err;
    memset(&rsp, 0, sizeof rsp);
    rsp.error = err;
    rsp.bytes_transferred = t->bytes;
    return fsp_vol_write_complete(t, &rsp);
}

/* WRITE's response: how much was written. */
int fsp_vol_write_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    size_t done = rsp->bytes_transferred;

    if (rsp->error)
        return rsp->error;
    /* Data may have been written even if the kernel got EINTR. */
    atomic_store_explicit(&t->handle->modified, true, memory_order_relaxed);
    memset(&t->out.write, 0, sizeof t->out.write);
    t->out.write.size = (uint32_t)(done < t->size ? done : t->size);
    return 0;
}

int fsp_vol_flush(struct fsp_txn *t)
{
    (void)t;
    /* The interface has no per-close(2) callback, so FLUSH has nothing to
     * do. FOPEN_NOFLUSH stops it for the opens fsp answers, but the
     * kernel still flushes with the writeback cache and for opens without
     * OPEN (per_file_context); ENOSYS once stops it for the whole mount
     * (fc->no_flush), after the kernel has written back dirty pages. */
    return -ENOSYS;
}

int fsp_vol_release(struct fsp_txn *t)
{
    const struct fuse_release_in *in = t->in.arg;

    /* per_file_context: fh 0 is a node's shared handle, which lives as
     * long as the node (a file created before the first OPEN). */
    if (in->fh == 0 && t->fs->params.per_file_context)
        return 0;
    return fsp_handle_release(t->fs, in->fh);
}

int fsp_vol_releasedir(struct fsp_txn *t)
{
    const struct fuse_release_in *in = t->in.arg;

    return fsp_handle_release(t->fs, in->fh);
}

int fsp_vol_fsync(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_fsync_in *in = t->in.arg;
    struct fsp_handle *h;
    int err;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &h);
    if (err)
        return err;
    /* No flush callback: nothing is buffered above the kernel, done. */
    return fs->iface.flush ? fs->iface.flush(fs, h->ctx) : 0;
}

int fsp_vol_syncfs(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;

    return fs->iface.flush ? fs->iface.flush(fs, NULL) : 0;
}

int fsp_vol_fallocate(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_fallocate_in *in = t->in.arg;
    struct fsp_handle *h;
    int err;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &h);
    if (err)
        return err;
    if (fs->params.read_only)
        return -EROFS;
    if (!fs->iface.allocate)
        return -EOPNOTSUPP;
    err = fs->iface.allocate(fs, h->ctx, (int)in->mode, in->offset,
                             in->length);
    if (!err)
        atomic_store_explicit(&h->modified, true, memory_order_relaxed);
    return err;
}

/* ------------------------------------------------------------- xattrs */

/* The node and its meta context for an xattr request. ENOSYS once makes
 * the kernel answer EOPNOTSUPP by itself from then on: no more round
 * trips for a volume without xattrs. */
static int xattr_node(struct fsp_txn *t, void *callback,
                      struct fsp_node **node, void **ctx)
{
    struct fsp_fs *fs = t->fs;
    int err;

    *node = NULL;
    *ctx = NULL;
    if (!fs->params.extended_attributes || !callback)
        return -ENOSYS;
    *node = fsp_node_get(fs, t->in.nodeid);
    if (!*node)
        return -ESTALE;
    err = fsp_node_meta_ctx(fs, *node, ctx);
    if (err) {
        fsp_node_put(fs, *node);
        *node = NULL;
    }
    return err;
}

int fsp_vol_setxattr(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_setxattr_in *in = t->in.arg;
    struct fsp_node *node;
    void *ctx;
    int err;

    err = xattr_node(t, (void *)fs->iface.set_xattr, &node, &ctx);
    if (err)
        return err;
    if (fs->params.read_only)
        err = -EROFS;
    else
        err = fs->iface.set_xattr(fs, ctx, t->in.name, t->in.data,
                                  t->in.data_size, (int)in->flags);
    fsp_node_put(fs, node);
    return err;
}

/* GETXATTR (one value) and LISTXATTR (all names) share everything but
 * the callback. A size query (size 0) is answered with getxattr_out, a
 * real read with the data itself (fsp_encode_xattr). */
static int read_xattr(struct fsp_txn *t, bool list)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_getxattr_in *in = t->in.arg;
    struct fsp_node *node;
    size_t size = in->size, length = 0;
    void *ctx, *buf;
    int err;

    err = xattr_node(t, list ? (void *)fs->iface.list_xattr
                             : (void *)fs->iface.get_xattr, &node, &ctx);
    if (err)
        return err;
    if (size > t->reply_buf_size)
        size = t->reply_buf_size;
    buf = size ? t->reply_buf : NULL;
    if (list)
        err = fs->iface.list_xattr(fs, ctx, buf, size, &length);
    else
        err = fs->iface.get_xattr(fs, ctx, t->in.name, buf, size, &length);
    if (!err && size && length > size)
        err = -ERANGE;
    if (!err) {
        memset(&t->out.xattr, 0, sizeof t->out.xattr);
        t->out.xattr.size = (uint32_t)length;
        t->data = buf;
        t->data_size = size ? length : 0;
    }
    fsp_node_put(fs, node);
    return err;
}

int fsp_vol_getxattr(struct fsp_txn *t)
{
    return read_xattr(t, false);
}

int fsp_vol_listxattr(struct fsp_txn *t)
{
    return read_xattr(t, true);
}

int fsp_vol_removexattr(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    struct fsp_node *node;
    void *ctx;
    int err;

    err = xattr_node(t, (void *)fs->iface.remove_xattr, &node, &ctx);
    if (err)
        return err;
    err = fs->params.read_only ? -EROFS
                               : fs->iface.remove_xattr(fs, ctx, t->in.name);
    fsp_node_put(fs, node);
    return err;
}
