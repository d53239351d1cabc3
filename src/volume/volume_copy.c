/*
 * volume_copy.c - COPY_FILE_RANGE and COPY_FILE_RANGE_64: copy_file_range(2)
 * between two open files of the volume, through the interface's
 * copy_file_range().
 *
 * Kernels of protocol 7.45 send COPY_FILE_RANGE_64, whose reply carries a
 * 64-bit count; an ENOSYS to it makes them fall back to COPY_FILE_RANGE
 * (fc->no_copy_file_range_64), whose reply is a fuse_write_out of 32 bits,
 * with the length cut below 4 GiB. An ENOSYS to that one too sets
 * fc->no_copy_file_range, and the kernel copies by splice from then on.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>

#include "fs_internal.h"
#include "txn.h"

/* The most the 32-bit form can report, in whole pages, as the kernel asks
 * for no more. */
#define COPY_32_MAX (UINT32_MAX & ~(uint64_t)4095)

/* The length the callback is asked to copy: what the reply can count. */
static size_t copy_length(const struct fsp_txn *t)
{
    const struct fuse_copy_file_range_in *in = t->in.arg;
    uint64_t max = t->in.opcode == FUSE_COPY_FILE_RANGE ? COPY_32_MAX
                                                        : SIZE_MAX;

    return (size_t)(in->len < max ? in->len : max);
}

int fsp_vol_copy_file_range(struct fsp_txn *t)
{
    struct fsp_fs *fs = t->fs;
    const struct fuse_copy_file_range_in *in = t->in.arg;
    struct fsp_handle *out;
    int err;

    /* copy_file_range(2) takes no flags yet: the kernel refuses others. */
    if (in->flags != 0)
        return -EINVAL;
    if (in->off_in > INT64_MAX || in->off_out > INT64_MAX)
        return -EINVAL;
    err = fsp_request_handle(fs, t->in.nodeid, in->fh_in, &t->handle);
    if (err)
        return err;
    err = fsp_request_handle(fs, in->nodeid_out, in->fh_out, &out);
    if (err)
        return err;
    /* The dispatcher pins t->handle while the request pends; the
     * destination is ours to pin, until fsp_txn_release(). */
    fsp_handle_pin(fs, out);
    t->handle_out = out;
    if (fs->params.read_only)
        return -EROFS;
    if (!fs->iface.copy_file_range)
        return -ENOSYS;
    t->size = copy_length(t);
    fsp_txn_rsp(t);
    return fsp_txn_called(t, fs->iface.copy_file_range(
                                 fs, t->handle->ctx, in->off_in, out->ctx,
                                 in->off_out, t->size, (uint32_t)in->flags,
                                 &t->rsp.bytes_transferred));
}

int fsp_vol_copy_file_range_complete(struct fsp_txn *t,
                                     const fsp_response_t *rsp)
{
    uint64_t done = rsp->bytes_transferred;

    if (rsp->error)
        return rsp->error;
    if (done > t->size) {
        fsp_log(t->fs, "copy_file_range() copied %llu bytes of %llu asked "
                "for; replying EIO", (unsigned long long)done,
                (unsigned long long)t->size);
        return -EIO;
    }
    if (done)
        atomic_store_explicit(&t->handle_out->modified, true,
                              memory_order_relaxed);
    if (t->in.opcode == FUSE_COPY_FILE_RANGE) {
        memset(&t->out.write, 0, sizeof t->out.write);
        t->out.write.size = (uint32_t)done;
    } else {
        t->out.copy.bytes_copied = done;
    }
    return 0;
}

size_t fsp_encode_copy_file_range(const struct fsp_txn *t, const void **body)
{
    if (t->in.opcode == FUSE_COPY_FILE_RANGE)
        return fsp_encode_write(t, body);
    *body = &t->out.copy;
    return sizeof t->out.copy;
}
