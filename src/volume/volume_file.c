/*
 * volume_file.c - open files: OPEN, OPENDIR, CREATE, READ, WRITE, FLUSH,
 * RELEASE, FSYNC, FALLOCATE, SYNCFS, and the extended attribute requests.
 * (FLUSH and RELEASE unlock what volume_lock.c says.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "acl.h"
#include "caller.h"
#include "fs_internal.h"
#include "txn.h"

/* FOPEN_* flags for a new open of a regular file (txn.h). */
uint32_t fsp_volume_open_flags(struct fsp_fs *fs)
{
    uint32_t f = 0;

    if (fs->params.keep_cache)
        f |= FOPEN_KEEP_CACHE;
    /* FLUSH is only useful to a file system that has something to do at
     * every close(2): one that serves POSIX locks, which the closing
     * process's FLUSH unlocks (volume_lock.c). Else skip it. */
    if (!fsp_volume_posix_locks(fs))
        f |= FOPEN_NOFLUSH;
    return f;
}

static bool open_writes(int flags)
{
    return (flags & O_ACCMODE) != O_RDONLY;
}

/* With FUSE_HANDLE_KILLPRIV_V2 (asked for when set_basic_info exists)
 * the kernel leaves clearing set-user-ID and set-group-ID to us: a
 * flagged WRITE or O_TRUNC open, and a FALLOCATE by a caller without
 * CAP_FSETID, call set_basic_info with FSP_SET_KILL_SUID first. */
static bool volume_kills_suid(const struct fsp_fs *fs)
{
    return (fs->init_flags & FUSE_HANDLE_KILLPRIV_V2) &&
           fs->iface.set_basic_info;
}

/* Clear set-user-ID and set-group-ID through set_basic_info; into
 * txn.rsp. */
static int kill_suid(struct fsp_txn *t, void *ctx)
{
    static const fsp_file_info_t none;
    fsp_response_t *rsp = fsp_txn_rsp(t);

    return fsp_txn_called(t, t->fs->iface.set_basic_info(
                                 t->fs, ctx, FSP_SET_KILL_SUID, &none,
                                 &rsp->file_info));
}

/* After the kill_suid() step of a WRITE or FALLOCATE: the kernel
 * refreshes only size and times after those, so its cached mode would
 * keep the bits just cleared; drop it now, before the reply. Then on to
 * step @next. */
static int kill_suid_done(struct fsp_txn *t, unsigned next)
{
    fsp_notify_inode_attributes_now(t->fs, t->in.nodeid);
    t->step = next;
    return FSP_TXN_CONTINUE;
}

/* OPEN's and OPENDIR's steps. */
enum {
    OPEN_CALL,          /* open() by path */
    OPEN_TRUNCATE,      /* ATOMIC_O_TRUNC: overwrite() */
    OPEN_KILL_SUID,     /* and FUSE_OPEN_KILL_SUIDGID: set_basic_info() */
};

/* OPEN and OPENDIR: open() by path, then a handle for the kernel (which
 * the undelivered step fsp_undo_open releases if the reply is lost: no
 * RELEASE would ever come for it, go-fuse #369). */
int fsp_vol_open(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_open_in *in = t->in.arg;
    bool is_dir = t->in.opcode == FUSE_OPENDIR;
    int err, flags = (int)in->flags;
    fsp_response_t *rsp;

    switch (t->step) {
    case OPEN_CALL:
        /* One context per file: ENOSYS once, and the kernel stops
         * sending OPEN (OPENDIR) and RELEASE (RELEASEDIR) for good; later
         * requests name fh 0, the node's shared handle
         * (handle_shared.c). */
        if (fs->params.per_file_context)
            return -ENOSYS;
        t->node = fsp_node_get(fs, t->in.nodeid);
        if (!t->node)
            return -ESTALE;
        if (fs->params.read_only &&
            (open_writes(flags) || (flags & O_TRUNC)))
            return -EROFS;
        t->path = fsp_node_path(fs, t->node, NULL, &err);
        if (!t->path)
            return err;
        if (!fs->iface.open)
            return -ENOSYS;
        rsp = fsp_txn_rsp(t);
        return fsp_txn_called(t, fs->iface.open(
                                     fs, t->path,
                                     is_dir ? flags | O_DIRECTORY
                                            : flags & ~O_TRUNC,
                                     &rsp->file_context, &rsp->file_info));
    case OPEN_TRUNCATE:
        if (!fs->iface.overwrite)
            return -ENOSYS;
        fsp_txn_rsp(t);
        return fsp_txn_called(t, fs->iface.overwrite(fs, t->ctx));
    default:
        return kill_suid(t, t->ctx);
    }
}

/* The open file's handle and its reply, once every step is done. */
static int open_reply(struct fsp_txn *t, uint32_t mode)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_open_in *in = t->in.arg;
    struct fuse_open_out *out = &t->out.open;
    bool is_dir = t->in.opcode == FUSE_OPENDIR;
    int err;

    memset(out, 0, sizeof *out);
    out->fh = fsp_handle_open(fs, t->ctx, t->node, (int)in->flags, is_dir);
    if (!out->fh)
        return -ENOMEM;         /* the release closes the context */
    t->ctx_owned = false;       /* the handle's now */
    if (!is_dir)
        out->open_flags = fsp_volume_open_flags(fs);
    else if (fs->params.dir_info_timeout_ms == FSP_TIMEOUT_INFINITE)
        /* With a directory timeout of forever the kernel may keep the
         * listing it read. */
        out->open_flags = FOPEN_CACHE_DIR | FOPEN_KEEP_CACHE;
    err = fsp_passthrough_open(fs, out->fh, mode, out);
    if (err)
        fsp_handle_release(fs, out->fh); /* closes the context */
    return err;
}

int fsp_vol_open_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const struct fuse_open_in *in = t->in.arg;
    bool is_dir = t->in.opcode == FUSE_OPENDIR;
    int flags = (int)in->flags;

    if (t->step == OPEN_CALL && !rsp->error) {
        t->ctx = rsp->file_context;
        t->ctx_owned = true;
        t->mode = rsp->file_info.mode;
        fsp_vol_note_dir_ino(t->fs, t->node, &rsp->file_info);
    }
    if (rsp->error)
        return rsp->error;              /* the release closes t->ctx */
    /* ATOMIC_O_TRUNC: the kernel leaves the truncation to us. */
    if (t->step == OPEN_CALL && !is_dir && (flags & O_TRUNC) &&
        open_writes(flags) && S_ISREG(t->mode)) {
        t->step = OPEN_TRUNCATE;
        return FSP_TXN_CONTINUE;
    }
    if (t->step == OPEN_TRUNCATE &&
        (in->open_flags & FUSE_OPEN_KILL_SUIDGID) &&
        volume_kills_suid(t->fs)) {
        t->step = OPEN_KILL_SUID;
        return FSP_TXN_CONTINUE;
    }
    return open_reply(t, t->mode);
}

/* CREATE: create(), the new entry, and an open file; the undelivered step
 * fsp_undo_create gives back both the lookup and the handle. */
int fsp_vol_create(struct fsp_txn *t)
{
    const struct fuse_create_in *in = t->in.arg;
    fsp_create_info_t ci;

    /*
     * per_file_context: a CREATE hands the kernel an open file, which it
     * then RELEASEs at close, though nothing is held for it. Answered
     * ENOSYS once (fc->no_create), the kernel creates with MKNOD and opens
     * without a request (no OPEN once that has been answered ENOSYS too),
     * so a create costs MKNOD alone and no RELEASE follows.
     */
    if (t->fs->params.per_file_context)
        return -ENOSYS;
    memset(&ci, 0, sizeof ci);
    ci.mode = in->mode;
    if (!(ci.mode & S_IFMT))
        ci.mode |= S_IFREG;
    ci.flags = (int)in->flags;
    return fsp_volume_create(t, &ci);
}

int fsp_vol_create_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_create_in *in = t->in.arg;
    struct fuse_open_out *out = &t->out.create.open;
    const fsp_file_info_t *info;
    struct fsp_node *node;
    int err;

    err = fsp_volume_created(t, rsp, &info);
    if (err)
        return err;
    node = fsp_node_lookup_child(fs, t->parent, t->in.name, info, true);
    if (!node)
        return -ENOMEM;
    t->node = node;             /* the release drops the reference */
    memset(out, 0, sizeof *out);
    out->open_flags = fsp_volume_open_flags(fs);
    if (fs->params.per_file_context) {
        /* Once OPEN has been answered ENOSYS the kernel sends no RELEASE
         * for any file, created ones included: a handle of its own would
         * pin the node (and an unlinked file's data) forever. The created
         * context becomes the node's meta context instead, closed when the
         * kernel forgets the node, and fh 0 names the node's shared handle
         * (a RELEASE of it, before the first OPEN, is answered at once). */
        fsp_node_adopt_meta_ctx(fs, node, t->ctx);
        t->ctx_owned = false;
    } else {
        out->fh = fsp_handle_open(fs, t->ctx, node, (int)in->flags, false);
        if (!out->fh) {
            fsp_node_forget(fs, node->nodeid, 1);
            return -ENOMEM;
        }
        t->ctx_owned = false;
        err = fsp_passthrough_open(fs, out->fh, info->mode, out);
        if (err) {
            fsp_handle_release(fs, out->fh); /* closes the context */
            fsp_node_forget(fs, node->nodeid, 1);
            return err;
        }
    }
    fsp_volume_fill_entry(fs, node, info, &t->out.create.entry);
    return 0;
}

int fsp_vol_read(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_read_in *in = t->in.arg;
    int err;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    if (!fs->iface.read)
        return -ENOSYS;
    t->size = in->size < t->reply_buf_size ? in->size : t->reply_buf_size;
    return fsp_txn_called(t, fs->iface.read(
                                 fs, t->handle->ctx, t->reply_buf,
                                 in->offset, t->size,
                                 &fsp_txn_rsp(t)->bytes_transferred));
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

/* WRITE's steps. */
enum {
    WRITE_BEGIN,
    WRITE_KILL_SUID,    /* FUSE_WRITE_KILL_SUIDGID: set_basic_info() */
    WRITE_DATA,         /* write() */
};

int fsp_vol_write(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_write_in *in = t->in.arg;
    int err, flags = 0;

    if (t->step == WRITE_BEGIN) {
        err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
        if (err)
            return err;
        if (!fs->iface.write)
            return -ENOSYS;
        /* Like the kernel's own write path: privileges go before the
         * data. */
        t->step = (in->write_flags & FUSE_WRITE_KILL_SUIDGID) &&
                          volume_kills_suid(fs)
                      ? WRITE_KILL_SUID
                      : WRITE_DATA;
    }
    if (t->step == WRITE_KILL_SUID)
        return kill_suid(t, t->handle->ctx);
    /* A shared handle has no open flags of its own; the kernel sends the
     * file's with each WRITE. */
    if ((t->handle->shared ? (int)in->flags : t->handle->flags) & O_APPEND)
        flags |= FSP_WRITE_TO_END_OF_FILE;
    t->size = t->in.data_size;
    return fsp_txn_called(t, fs->iface.write(
                                 fs, t->handle->ctx, t->in.data, in->offset,
                                 t->size, flags,
                                 &fsp_txn_rsp(t)->bytes_transferred));
}

/* WRITE's response: how much was written. */
int fsp_vol_write_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    size_t done = rsp->bytes_transferred;

    if (rsp->error)
        return rsp->error;
    if (t->step == WRITE_KILL_SUID)
        return kill_suid_done(t, WRITE_DATA);
    /* Data may have been written even if the kernel got EINTR. */
    atomic_store_explicit(&t->handle->modified, true, memory_order_relaxed);
    memset(&t->out.write, 0, sizeof t->out.write);
    t->out.write.size = (uint32_t)(done < t->size ? done : t->size);
    return 0;
}

/*
 * A close(2) of a file open for writing with passthrough: stores through
 * a shared mapping went to the backing file without a request (the
 * kernel's passthrough mmap has no hook that refreshes the FUSE inode, as
 * its write path does), and changed the backing file's mtime and ctime.
 * Drop the cached attributes, so that a stat(2) after the close sees them
 * (generic/080). Cheap: one notification per such close.
 */
static void passthrough_writer_closes(struct fsp_txn *t,
                                      const struct fsp_handle *h)
{
    if (h->io_mode == FSP_IO_PASSTHROUGH && open_writes(h->flags))
        fsp_notify_inode_attributes_now(t->fs, t->in.nodeid);
}

int fsp_vol_flush(struct fsp_txn *t)
{
    const struct fuse_flush_in *in = t->in.arg;
    int err;

    /* Without served POSIX locks the interface has nothing to do at a
     * close(2). FOPEN_NOFLUSH stops FLUSH for the opens fsp answers, but
     * the kernel still flushes with the writeback cache and for opens
     * without OPEN (per_file_context); ENOSYS once stops it for the whole
     * mount (fc->no_flush), after the kernel has written back dirty
     * pages. */
    if (!fsp_volume_posix_locks(t->fs))
        return -ENOSYS;
    err = fsp_request_handle(t->fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    passthrough_writer_closes(t, t->handle);
    return fsp_volume_unlock_on_close(t, t->handle->ctx, in->lock_owner);
}

/* RELEASE's steps. */
enum {
    RELEASE_UNLOCK,     /* the open file's locks (volume_lock.c) */
    RELEASE_CLOSE,      /* the handle, and with it the file context */
};

int fsp_vol_release(struct fsp_txn *t)
{
    const struct fuse_release_in *in = t->in.arg;
    struct fsp_handle *h;
    int r;

    /* Not t->handle: a pending unlock must not pin the handle that this
     * very request releases next. */
    if (t->step == RELEASE_UNLOCK &&
        (fsp_volume_posix_locks(t->fs) || fsp_volume_flock_locks(t->fs)) &&
        fsp_request_handle(t->fs, t->in.nodeid, in->fh, &h) == 0) {
        r = fsp_volume_unlock_on_release(t, h);
        if (r != 1)
            return r;
    }
    /* per_file_context: fh 0 is a node's shared handle, which lives as
     * long as the node (a file created before the first OPEN). */
    if (in->fh == 0 && t->fs->params.per_file_context)
        return 0;
    /* With no FLUSH (no served POSIX locks) the close shows here, later. */
    if (!fsp_volume_posix_locks(t->fs) &&
        fsp_request_handle(t->fs, t->in.nodeid, in->fh, &h) == 0)
        passthrough_writer_closes(t, h);
    return fsp_handle_release(t->fs, in->fh);
}

/* An unlock's answer changes nothing: the file goes anyway. Then the next
 * unlock, or the close. */
int fsp_vol_release_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (rsp->error)
        fsp_log_debug(t->fs, "unique=%llu RELEASE: unlock: %d",
                      (unsigned long long)t->in.unique, rsp->error);
    return FSP_TXN_CONTINUE;
}

int fsp_vol_releasedir(struct fsp_txn *t)
{
    const struct fuse_release_in *in = t->in.arg;

    return fsp_handle_release(t->fs, in->fh);
}

/* A response that is the callback's result and nothing else. */
int fsp_vol_result_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    (void)t;
    return rsp->error;
}

int fsp_vol_fsync(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_fsync_in *in = t->in.arg;
    int err;

    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    /* No flush callback: nothing is buffered above the kernel, done. */
    if (!fs->iface.flush)
        return 0;
    fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.flush(fs, t->handle->ctx));
}

int fsp_vol_syncfs(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;

    if (!fs->iface.flush)
        return 0;
    fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.flush(fs, NULL));
}

/* FALLOCATE's steps. */
enum {
    FALLOCATE_BEGIN,
    FALLOCATE_KILL_SUID, /* set_basic_info(), see fallocate_kills_suid() */
    FALLOCATE_CALL,      /* allocate() */
};

/*
 * Does this FALLOCATE clear set-user-ID and set-group-ID first, as
 * fallocate(2) does on ext4 for a caller without CAP_FSETID? The kernel
 * asks for it (file_modified()) but, with FUSE_HANDLE_KILLPRIV_V2, leaves
 * it to the file system and sends nothing: FALLOCATE has no flag for it.
 * The request does not say whether the caller has CAP_FSETID, so fsp reads
 * the caller's effective capabilities (FALLOCATE is rare enough for one
 * small read of /proc); when it cannot, root stands for CAP_FSETID, and a
 * caller the kernel does not name (FSP_UNKNOWN_ID, with idmapped mounts
 * allowed) counts as not root. Without KILLPRIV_V2 (a volume without
 * set_basic_info) the kernel sends a SETATTR of the mode itself.
 */
static bool fallocate_kills_suid(struct fsp_txn *t)
{
    return volume_kills_suid(t->fs) &&
           !fsp_caller_has_capability(t->in.hdr->pid, CAP_FSETID,
                                      t->in.hdr->uid == 0);
}

int fsp_vol_fallocate(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_fallocate_in *in = t->in.arg;
    int err;

    if (t->step == FALLOCATE_BEGIN) {
        err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
        if (err)
            return err;
        if (fs->params.read_only)
            return -EROFS;
        if (!fs->iface.allocate)
            return -EOPNOTSUPP;
        t->step = fallocate_kills_suid(t) ? FALLOCATE_KILL_SUID
                                          : FALLOCATE_CALL;
    }
    if (t->step == FALLOCATE_KILL_SUID)
        return kill_suid(t, t->handle->ctx);
    fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.allocate(fs, t->handle->ctx,
                                                (int)in->mode, in->offset,
                                                in->length));
}

int fsp_vol_fallocate_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (rsp->error)
        return rsp->error;
    if (t->step == FALLOCATE_KILL_SUID)
        return kill_suid_done(t, FALLOCATE_CALL);
    atomic_store_explicit(&t->handle->modified, true, memory_order_relaxed);
    return 0;
}

/* ------------------------------------------------------------- xattrs */

/* The node and its meta context for an xattr request, held in t->node
 * and t->ctx. ENOSYS once makes the kernel answer EOPNOTSUPP by itself
 * from then on: no more round trips for a volume without xattrs. */
static int xattr_node(struct fsp_txn *t, void *callback)
{
    struct fsp_fs *fs = t->fs;

    if (!fs->params.extended_attributes || !callback)
        return -ENOSYS;
    t->node = fsp_node_get(fs, t->in.nodeid);
    if (!t->node)
        return -ESTALE;
    fsp_txn_rsp(t);
    return fsp_node_meta_ctx(fs, t->node, &t->ctx);
}

/* SETXATTR: set_xattr(), or for an ACL on a volume with ACLs the steps
 * of acl.c (the mode follows the ACL). */
int fsp_vol_setxattr(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_setxattr_in *in = t->in.arg;
    int err;

    if (t->step == 0) {
        err = xattr_node(t, (void *)fs->iface.set_xattr);
        if (err)
            return err;
        if (fs->params.read_only)
            return -EROFS;
        if (fsp_acl_on(fs) && fsp_acl_is_acl_name(t->in.name)) {
            err = fsp_acl_setxattr_begin(t);
            if (err)
                return err;
        }
    }
    if (t->step != 0)
        return fsp_acl_setxattr_step(t);
    return fsp_txn_called(t, fs->iface.set_xattr(fs, t->ctx, t->in.name,
                                                 t->in.data,
                                                 t->in.data_size,
                                                 (int)in->flags));
}

int fsp_vol_setxattr_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (t->step != 0)
        return fsp_acl_setxattr_next(t, rsp);
    return rsp->error;
}

/* GETXATTR (one value) and LISTXATTR (all names) share everything but
 * the callback. A size query (size 0) is answered with getxattr_out, a
 * real read with the data itself (fsp_encode_xattr). */
static int read_xattr(struct fsp_txn *t, bool list)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_getxattr_in *in = t->in.arg;
    size_t *length = &t->rsp.bytes_transferred;
    void *buf;
    int err;

    err = xattr_node(t, list ? (void *)fs->iface.list_xattr
                             : (void *)fs->iface.get_xattr);
    if (err)
        return err;
    t->size = in->size < t->reply_buf_size ? in->size : t->reply_buf_size;
    buf = t->size ? t->reply_buf : NULL;
    if (list)
        return fsp_txn_called(t, fs->iface.list_xattr(fs, t->ctx, buf,
                                                      t->size, length));
    return fsp_txn_called(t, fs->iface.get_xattr(fs, t->ctx, t->in.name,
                                                 buf, t->size, length));
}

int fsp_vol_xattr_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    size_t length = rsp->bytes_transferred;

    if (rsp->error)
        return rsp->error;
    if (t->size && length > t->size)
        return -ERANGE;
    memset(&t->out.xattr, 0, sizeof t->out.xattr);
    t->out.xattr.size = (uint32_t)length;
    if (t->size) {
        t->data = t->reply_buf;
        t->data_size = length;
    }
    return 0;
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
    int err;

    err = xattr_node(t, (void *)fs->iface.remove_xattr);
    if (err)
        return err;
    if (fs->params.read_only)
        return -EROFS;
    return fsp_txn_called(t, fs->iface.remove_xattr(fs, t->ctx,
                                                    t->in.name));
}

int fsp_vol_removexattr_complete(struct fsp_txn *t,
                                 const fsp_response_t *rsp)
{
    /* Removing an ACL a file does not have succeeds, as on a local file
     * system (setfacl -b of a file whose ACL is just its mode), when fsp
     * keeps ACLs and stores none for such files. */
    if (rsp->error == -ENODATA && fsp_acl_by_fsp(t->fs) &&
        fsp_acl_is_acl_name(t->in.name))
        return 0;
    return rsp->error;
}
