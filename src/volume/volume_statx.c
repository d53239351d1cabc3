/*
 * volume_statx.c - STATX: statx(2) asking for more than GETATTR carries,
 * which today means the birth time.
 *
 * The kernel sends STATX (no INIT flag needed) only when a statx(2) asks
 * for STATX_BTIME and its cached attributes cannot answer; plain stat(2)
 * stays on GETATTR. It is served like GETATTR, by get_file_info() or
 * get_file_info_by_name(), and the reply adds btime when the file system
 * reported one (not zero). An ENOSYS (neither callback) makes the kernel
 * stop sending STATX for the mount (fc->no_statx) and use GETATTR, whose
 * reply has no room for btime: statx then reports none.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "fs_internal.h"
#include "txn.h"

int fsp_vol_statx(struct fsp_txn *t)
{
    const struct fuse_statx_in *in = t->in.arg;
    bool has_fh = in->getattr_flags & FUSE_GETATTR_FH;

    return fsp_volume_get_info(t, has_fh, in->fh);
}

static void put_sx_time(struct fuse_sx_time *to, uint64_t sec, uint32_t nsec)
{
    to->tv_sec = (int64_t)sec;
    to->tv_nsec = nsec;
}

int fsp_vol_statx_complete(struct fsp_txn *t, const fsp_response_t *rsp)
{
    const fsp_file_info_t *info = &rsp->file_info;
    struct fuse_statx_out *out = &t->out.statx;
    struct fuse_statx *sx = &out->stat;
    struct fuse_attr_out a;

    if (rsp->error)
        return rsp->error;
    /* GETATTR's reply first, so that both say the same of the file. */
    fsp_volume_fill_attr_out(t->fs, t->node->nodeid, info, &a);
    memset(out, 0, sizeof *out);
    out->attr_valid = a.attr_valid;
    out->attr_valid_nsec = a.attr_valid_nsec;
    sx->mask = STATX_BASIC_STATS;
    sx->blksize = a.attr.blksize;
    sx->nlink = a.attr.nlink;
    sx->uid = a.attr.uid;
    sx->gid = a.attr.gid;
    sx->mode = (uint16_t)a.attr.mode;
    sx->ino = a.attr.ino;
    sx->size = a.attr.size;
    sx->blocks = a.attr.blocks;
    put_sx_time(&sx->atime, a.attr.atime, a.attr.atimensec);
    put_sx_time(&sx->mtime, a.attr.mtime, a.attr.mtimensec);
    put_sx_time(&sx->ctime, a.attr.ctime, a.attr.ctimensec);
    sx->rdev_major = major(a.attr.rdev);
    sx->rdev_minor = minor(a.attr.rdev);
    /* 0 is "not known": then the kernel reports no birth time. */
    if (info->btime.tv_sec || info->btime.tv_nsec) {
        sx->mask |= STATX_BTIME;
        put_sx_time(&sx->btime, (uint64_t)info->btime.tv_sec,
                    info->btime.tv_nsec < 0 ? 0
                    : info->btime.tv_nsec > 999999999
                        ? 999999999
                        : (uint32_t)info->btime.tv_nsec);
    }
    return 0;
}

size_t fsp_encode_statx(const struct fsp_txn *t, const void **body)
{
    *body = &t->out.statx;
    return sizeof t->out.statx;
}
