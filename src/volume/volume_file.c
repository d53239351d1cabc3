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
#include "pending.h"

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

/* OPEN and OPENDIR: open() by path, then a handle for the kernel. */
static void open_node(struct fsp_req *req, bool is_dir)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_open_in *in = req->in.arg;
    struct fsp_node *node;
    struct fuse_open_out out;
    fsp_file_info_t info;
    void *ctx = NULL;
    char *path = NULL;
    int err, flags = (int)in->flags;

    /* One context per file: ENOSYS once, and the kernel stops sending
     * OPEN (OPENDIR) and RELEASE (RELEASEDIR) for good; later requests
     * name fh 0, the node's shared handle (handle_shared.c). */
    if (fs->params.per_file_context) {
        fsp_reply_err(req, -ENOSYS);
        return;
    }
    node = fsp_request_node(req, req->in.nodeid);
    if (!node)
        return;
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
    memset(&out, 0, sizeof out);
    out.fh = fsp_handle_open(fs, ctx, node, flags, is_dir);
    err = -ENOMEM;
    if (!out.fh)
        goto out_close;
    if (!is_dir)
        out.open_flags = open_flags_for(fs);
    else if (fs->params.dir_info_timeout_ms == FSP_TIMEOUT_INFINITE)
        /* With a directory timeout of forever the kernel may keep the
         * listing it read. */
        out.open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
    err = fsp_passthrough_open(fs, out.fh, info.mode, &out);
    if (err) {
        fsp_handle_release(fs, out.fh); /* closes the context */
        goto out;
    }
    /* If the kernel gave up on this open (interrupted), no RELEASE will
     * ever come for the handle: release it now (go-fuse #369). */
    if (fsp_reply_ok(req, &out, sizeof out) == -ENOENT)
        fsp_handle_release(fs, out.fh);
    goto out;
out_close:
    if (fs->iface.close)
        fs->iface.close(fs, ctx);
out:
    if (!req->replied)
        fsp_reply_err(req, err);
    free(path);
    fsp_node_put(fs, node);
}

void fsp_op_open(struct fsp_req *req)
{
    open_node(req, false);
}

void fsp_op_opendir(struct fsp_req *req)
{
    open_node(req, true);
}

void fsp_op_create(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_create_in *in = req->in.arg;
    struct fsp_node *parent, *node = NULL;
    struct fuse_entry_out entry;
    struct fuse_open_out out;
    fsp_create_info_t ci;
    fsp_file_info_t info;
    void *ctx = NULL;
    char *path = NULL;
    int err;

    parent = fsp_request_node(req, req->in.nodeid);
    if (!parent)
        return;
    path = fsp_volume_path_to_change(fs, parent, req->in.name, &err);
    if (!path)
        goto out;
    err = -ENOSYS;
    if (!fs->iface.create)
        goto out;
    memset(&ci, 0, sizeof ci);
    ci.mode = in->mode;
    if (!(ci.mode & S_IFMT))
        ci.mode |= S_IFREG;
    ci.uid = req->in.hdr->uid;
    ci.gid = req->in.hdr->gid;
    ci.flags = (int)in->flags;
    memset(&info, 0, sizeof info);
    err = fs->iface.create(fs, path, &ci, &ctx, &info);
    if (err)
        goto out;
    err = -ENOMEM;
    node = fsp_node_lookup_child(fs, parent, req->in.name, &info, true);
    if (!node)
        goto out_close;
    memset(&out, 0, sizeof out);
    out.open_flags = open_flags_for(fs);
    if (fs->params.per_file_context) {
        /* Once OPEN has been answered ENOSYS the kernel sends no RELEASE
         * for any file, created ones included: a handle of its own would
         * pin the node (and an unlinked file's data) forever. The created
         * context becomes the node's meta context instead, closed when the
         * kernel forgets the node, and fh 0 names the node's shared handle
         * (a RELEASE of it, before the first OPEN, is answered at once). */
        fsp_node_adopt_meta_ctx(fs, node, ctx);
    } else {
        out.fh = fsp_handle_open(fs, ctx, node, (int)in->flags, false);
        if (!out.fh) {
            fsp_node_forget(fs, node->nodeid, 1);
            goto out_close;
        }
        err = fsp_passthrough_open(fs, out.fh, info.mode, &out);
        if (err) {
            fsp_handle_release(fs, out.fh); /* closes the context */
            fsp_node_forget(fs, node->nodeid, 1);
            goto out;
        }
    }
    fsp_volume_fill_entry(fs, node, &info, &entry);
    if (fsp_reply_ok2(req, &entry, sizeof entry, &out, sizeof out) ==
        -ENOENT) {
        if (out.fh)
            fsp_handle_release(fs, out.fh);
        fsp_node_forget(fs, node->nodeid, 1);
    }
    goto out;
out_close:
    if (fs->iface.close)
        fs->iface.close(fs, ctx);
out:
    if (!req->replied)
        fsp_reply_err(req, err);
    free(path);
    fsp_node_put(fs, node);
    fsp_node_put(fs, parent);
}

/* READ's reply: the data the callback put in the reply buffer. */
static void finish_read(struct fsp_pending *p, const fsp_response_t *rsp,
                        bool deliver)
{
    size_t done = rsp->bytes_transferred;

    if (!deliver)
        return;
    if (rsp->error)
        fsp_reply_err(&p->req, rsp->error);
    else
        fsp_reply_ok(&p->req, p->req.reply_buf,
                     done < p->size ? done : p->size);
}

void fsp_op_read(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_read_in *in = req->in.arg;
    struct fsp_handle *h;
    struct fsp_pending *p;
    size_t size = in->size, done = 0;
    int err;

    h = fsp_request_handle(req, in->fh);
    if (!h)
        return;
    if (!fs->iface.read) {
        fsp_reply_err(req, -ENOSYS);
        return;
    }
    if (size > req->reply_buf_size)
        size = req->reply_buf_size;
    p = fsp_pending_begin(req, h, finish_read);
    if (!p)
        return;
    p->size = size;
    err = fs->iface.read(fs, h->ctx, p->req.reply_buf, in->offset, size,
                         &done);
    fsp_pending_end(p, err, done);
}

/* WRITE's reply: how much was written. */
static void finish_write(struct fsp_pending *p, const fsp_response_t *rsp,
                         bool deliver)
{
    struct fuse_write_out out;
    size_t done = rsp->bytes_transferred;

    /* Data may have been written even if the kernel got EINTR. */
    if (!rsp->error)
        atomic_store_explicit(&p->handle->modified, true,
                              memory_order_relaxed);
    if (!deliver)
        return;
    if (rsp->error) {
        fsp_reply_err(&p->req, rsp->error);
        return;
    }
    memset(&out, 0, sizeof out);
    out.size = (uint32_t)(done < p->size ? done : p->size);
    fsp_reply_ok(&p->req, &out, sizeof out);
}

void fsp_op_write(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_write_in *in = req->in.arg;
    struct fsp_handle *h;
    struct fsp_pending *p;
    size_t done = 0;
    int err, flags = 0;

    h = fsp_request_handle(req, in->fh);
    if (!h)
        return;
    if (!fs->iface.write) {
        fsp_reply_err(req, -ENOSYS);
        return;
    }
    /* A shared handle has no open flags of its own; the kernel sends the
     * file's with each WRITE. */
    if ((h->shared ? (int)in->flags : h->flags) & O_APPEND)
        flags |= FSP_WRITE_TO_END_OF_FILE;
    /* Like the kernel's own write path: privileges go before the data. */
    if (in->write_flags & FUSE_WRITE_KILL_SUIDGID) {
        err = fsp_passthrough_kill_suid(fs, h->ctx);
        if (err) {
            fsp_reply_err(req, err);
            return;
        }
    }
    p = fsp_pending_begin(req, h, finish_write);
    if (!p)
        return;
    p->size = req->in.data_size;
    err = fs->iface.write(fs, h->ctx, p->req.in.data, in->offset,
                          p->req.in.data_size, flags, &done);
    fsp_pending_end(p, err, done);
}

void fsp_op_flush(struct fsp_req *req)
{
    /* The interface has no per-close(2) callback, so FLUSH has nothing to
     * do. FOPEN_NOFLUSH stops it for the opens fsp answers, but the
     * kernel still flushes with the writeback cache and for opens without
     * OPEN (per_file_context); ENOSYS once stops it for the whole mount
     * (fc->no_flush), after the kernel has written back dirty pages. */
    fsp_reply_err(req, -ENOSYS);
}

void fsp_op_release(struct fsp_req *req)
{
    const struct fuse_release_in *in = req->in.arg;

    /* per_file_context: fh 0 is a node's shared handle, which lives as
     * long as the node (a file created before the first OPEN). */
    if (in->fh == 0 && req->fs->params.per_file_context) {
        fsp_reply_err(req, 0);
        return;
    }
    fsp_reply_err(req, fsp_handle_release(req->fs, in->fh));
}

void fsp_op_fsync(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_fsync_in *in = req->in.arg;
    struct fsp_handle *h;

    h = fsp_request_handle(req, in->fh);
    if (!h)
        return;
    /* No flush callback: nothing is buffered above the kernel, done. */
    fsp_reply_err(req, fs->iface.flush ? fs->iface.flush(fs, h->ctx) : 0);
}

void fsp_op_syncfs(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;

    fsp_reply_err(req, fs->iface.flush ? fs->iface.flush(fs, NULL) : 0);
}

void fsp_op_fallocate(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_fallocate_in *in = req->in.arg;
    struct fsp_handle *h;
    int err = -EOPNOTSUPP;

    h = fsp_request_handle(req, in->fh);
    if (!h)
        return;
    if (fs->params.read_only)
        err = -EROFS;
    else if (fs->iface.allocate) {
        err = fs->iface.allocate(fs, h->ctx, (int)in->mode, in->offset,
                                 in->length);
        if (!err)
            atomic_store_explicit(&h->modified, true, memory_order_relaxed);
    }
    fsp_reply_err(req, err);
}

/* ------------------------------------------------------------- xattrs */

/* The node and its meta context for an xattr request, or replies. */
static struct fsp_node *xattr_node(struct fsp_req *req, void *callback,
                                   void **ctx)
{
    struct fsp_fs *fs = req->fs;
    struct fsp_node *node;
    int err;

    *ctx = NULL;
    if (!fs->params.extended_attributes || !callback) {
        /* ENOSYS once makes the kernel answer EOPNOTSUPP by itself from
         * then on: no more round trips for a volume without xattrs. */
        fsp_reply_err(req, -ENOSYS);
        return NULL;
    }
    node = fsp_request_node(req, req->in.nodeid);
    if (!node)
        return NULL;
    err = fsp_node_meta_ctx(fs, node, ctx);
    if (err) {
        fsp_reply_err(req, err);
        fsp_node_put(fs, node);
        return NULL;
    }
    return node;
}

void fsp_op_setxattr(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_setxattr_in *in = req->in.arg;
    struct fsp_node *node;
    void *ctx;
    int err;

    node = xattr_node(req, (void *)fs->iface.set_xattr, &ctx);
    if (!node)
        return;
    if (fs->params.read_only)
        err = -EROFS;
    else
        err = fs->iface.set_xattr(fs, ctx, req->in.name, req->in.data,
                                  req->in.data_size, (int)in->flags);
    fsp_reply_err(req, err);
    fsp_node_put(fs, node);
}

/* GETXATTR and LISTXATTR answer a size query (size 0) with getxattr_out,
 * a real read with the data itself. */
static void reply_xattr_data(struct fsp_req *req, uint32_t size, int err,
                             size_t length)
{
    struct fuse_getxattr_out out;

    if (err) {
        fsp_reply_err(req, err);
    } else if (size == 0) {
        memset(&out, 0, sizeof out);
        out.size = (uint32_t)length;
        fsp_reply_ok(req, &out, sizeof out);
    } else {
        fsp_reply_ok(req, req->reply_buf, length);
    }
}

/* GETXATTR (one value) and LISTXATTR (all names) share everything but
 * the callback. */
static void read_xattr(struct fsp_req *req, bool list)
{
    struct fsp_fs *fs = req->fs;
    const struct fuse_getxattr_in *in = req->in.arg;
    struct fsp_node *node;
    size_t size = in->size, length = 0;
    void *ctx, *buf;
    int err;

    node = xattr_node(req, list ? (void *)fs->iface.list_xattr
                                : (void *)fs->iface.get_xattr, &ctx);
    if (!node)
        return;
    if (size > req->reply_buf_size)
        size = req->reply_buf_size;
    buf = size ? req->reply_buf : NULL;
    if (list)
        err = fs->iface.list_xattr(fs, ctx, buf, size, &length);
    else
        err = fs->iface.get_xattr(fs, ctx, req->in.name, buf, size,
                                  &length);
    if (!err && size && length > size)
        err = -ERANGE;
    reply_xattr_data(req, in->size, err, length);
    fsp_node_put(fs, node);
}

void fsp_op_getxattr(struct fsp_req *req)
{
    read_xattr(req, false);
}

void fsp_op_listxattr(struct fsp_req *req)
{
    read_xattr(req, true);
}

void fsp_op_removexattr(struct fsp_req *req)
{
    struct fsp_fs *fs = req->fs;
    struct fsp_node *node;
    void *ctx;
    int err;

    node = xattr_node(req, (void *)fs->iface.remove_xattr, &ctx);
    if (!node)
        return;
    err = fs->params.read_only ? -EROFS
                               : fs->iface.remove_xattr(fs, ctx,
                                                        req->in.name);
    fsp_reply_err(req, err);
    fsp_node_put(fs, node);
}
