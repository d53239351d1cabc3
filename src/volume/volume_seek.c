/*
 * volume_seek.c - LSEEK: lseek(2) with SEEK_DATA or SEEK_HOLE, through the
 * interface's seek(). The kernel answers the other whences itself and
 * sends only these two; with no seek() the answer is ENOSYS, after which
 * the kernel stops asking (fc->no_lseek) and answers from the file's size
 * (generic_file_llseek: all data, one hole at end of file).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "fs_internal.h"
#include "txn.h"

int fsp_vol_lseek(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_lseek_in *in = t->in.arg;
    int err;

    /* A malformed request: the kernel sends no other whence, and no
     * offset the file system could not answer with a loff_t. */
    if (in->whence != SEEK_DATA && in->whence != SEEK_HOLE)
        return -EINVAL;
    if (in->offset > INT64_MAX)
        return -ENXIO;
    err = fsp_request_handle(fs, t->in.nodeid, in->fh, &t->handle);
    if (err)
        return err;
    if (!fs->iface.seek)
        return -ENOSYS;
    return fsp_txn_called(t, fs->iface.seek(fs, t->handle->ctx, in->offset,
                                            (int)in->whence,
                                            &fsp_txn_rsp(t)->offset));
}

int fsp_vol_lseek_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const struct fuse_lseek_in *in = t->in.arg;

    if (rsp->error)
        return rsp->error;
    /* Before the start, or beyond what a loff_t holds: not an answer. */
    if (rsp->offset < in->offset || rsp->offset > INT64_MAX) {
        fsp_log(t->fs, "seek(%s, %llu) answered offset %llu, "
                "before the start or beyond 2^63 - 1; replying EIO",
                in->whence == SEEK_DATA ? "SEEK_DATA" : "SEEK_HOLE",
                (unsigned long long)in->offset,
                (unsigned long long)rsp->offset);
        return -EIO;
    }
    t->out.lseek.offset = rsp->offset;
    return 0;
}

size_t fsp_encode_lseek(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.lseek;
    return sizeof t->out.lseek;
}
