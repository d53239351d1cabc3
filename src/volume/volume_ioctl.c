/*
 * volume_ioctl.c - IOCTL and POLL on an open file.
 *
 * IOCTL. The kernel sends restricted ioctls only (fuse_file_ioctl() and
 * the file-attribute path of fs/fuse/ioctl.c, which asks FS_IOC_GETFLAGS,
 * FS_IOC_SETFLAGS, FS_IOC_FSGETXATTR and FS_IOC_FSSETXATTR on an open of
 * its own): in_size bytes of argument follow the request, and the reply
 * is a fuse_ioctl_out followed by out_size bytes. The file-attribute path
 * takes the reply only when its size is exactly that, so fsp always sends
 * all out_size bytes, zeros after what the callback wrote. An ENOSYS
 * reply the kernel turns into ENOTTY itself; fsp answers ENOTTY at once.
 * Unrestricted ioctls (CUSE's, with FUSE_IOCTL_UNRESTRICTED, and their
 * FUSE_IOCTL_RETRY dance) are not served: ENOTTY.
 *
 * POLL. With FUSE_POLL_SCHEDULE_NOTIFY the kernel waits in poll(2) and
 * wants FUSE_NOTIFY_POLL with its kh once the file may be ready
 * (fsp_fs_notify_poll(), notify.c). ENOSYS makes it treat every file as
 * always ready from then on (fc->no_poll).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/fs.h>
#include <string.h>

#include "fs_internal.h"
#include "txn.h"

/* The reply buffer: the fuse_ioctl_out, then the out data. */
#define IOCTL_DATA_AT sizeof(struct fuse_ioctl_out)

int fsp_vol_ioctl(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_ioctl_in *in = t->in.arg;
    fsp_response_t *rsp;
    unsigned char *out;
    int err;

    if (in->flags & (FUSE_IOCTL_UNRESTRICTED | FUSE_IOCTL_RETRY))
        return -ENOTTY;
    if (!fs->iface.ioctl)
        return -ENOTTY;
    /* The kernel never asks for more than fits a request's pages. */
    if (!t->reply_buf || in->out_size > t->reply_buf_size - IOCTL_DATA_AT)
        return -EINVAL;
    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    out = (unsigned char *)t->reply_buf + IOCTL_DATA_AT;
    memset(t->reply_buf, 0, IOCTL_DATA_AT + in->out_size);
    rsp = fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.ioctl(
                                 fs, t->handle->ctx, in->cmd,
                                 in->in_size ? t->in.data : NULL,
                                 in->in_size, in->out_size ? out : NULL,
                                 in->out_size, &rsp->bytes_transferred));
}

int fsp_vol_ioctl_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const struct fuse_ioctl_in *in = t->in.arg;

    if (rsp->error)
        return rsp->error;
    if (rsp->bytes_transferred > in->out_size) {
        fsp_log(t->fs, "unique=%llu IOCTL: ioctl() wrote %zu bytes of %u; "
                "replying EIO", (unsigned long long)t->in.unique,
                rsp->bytes_transferred, (unsigned)in->out_size);
        return -EIO;
    }
    /* chattr changes the ctime (and may change the flags statx shows),
     * but the kernel keeps the attributes it cached: drop them now, before
     * the reply, so that a stat right after sees the change. */
    if (in->cmd == FS_IOC_SETFLAGS || in->cmd == FS_IOC32_SETFLAGS ||
        in->cmd == FS_IOC_FSSETXATTR)
        fsp_notify_inode_attributes_now(t->fs, t->in.nodeid);
    /* fuse_ioctl_out stays zero: result 0, no flags, no iovecs. */
    t->data = t->reply_buf;
    t->data_size = IOCTL_DATA_AT + in->out_size;
    return 0;
}

int fsp_vol_poll(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_poll_in *in = t->in.arg;
    fsp_response_t *rsp;
    int err;

    if (!fs->iface.poll)
        return -ENOSYS;
    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    rsp = fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.poll(
                                 fs, t->handle->ctx,
                                 (in->flags & FUSE_POLL_SCHEDULE_NOTIFY)
                                     ? in->kh : 0,
                                 in->events, &rsp->poll_events));
}

int fsp_vol_poll_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    if (rsp->error)
        return rsp->error;
    memset(&t->out.poll, 0, sizeof t->out.poll);
    t->out.poll.revents = rsp->poll_events;
    return 0;
}

size_t fsp_encode_poll(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.poll;
    return sizeof t->out.poll;
}
