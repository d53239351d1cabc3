/**
 * @file ptfs_range.c
 * lseek(2) with SEEK_DATA or SEEK_HOLE, and copy_file_range(2), passed to
 * the files of SOURCE. SOURCE's own file system answers: its holes, and
 * for the copy a reflink where it can make one (btrfs, xfs), a copy in
 * its kernel otherwise. Where it cannot copy at all (-EXDEV,
 * -EOPNOTSUPP), fsp's kernel falls back to reading and writing.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <errno.h>
#include <unistd.h>

int ptfs_op_seek(fsp_fs_t *fs, void *file_ctx, uint64_t offset, int whence,
                 uint64_t *result)
{
    struct ptfs_file *f = file_ctx;
    off_t r;

    (void)fs;
    if (f->vlink || f->is_path)
        return -EBADF;
    /* The position moves, but ptfs reads and writes at explicit offsets
     * (pread, pwrite), so it never matters. */
    r = lseek(f->fd, (off_t)offset, whence);
    if (r < 0)
        return -errno;
    *result = (uint64_t)r;
    return 0;
}

int ptfs_op_copy_file_range(fsp_fs_t *fs, void *src_ctx, uint64_t src_offset,
                            void *dst_ctx, uint64_t dst_offset, size_t length,
                            uint32_t flags, size_t *bytes_copied)
{
    struct ptfs_file *src = src_ctx, *dst = dst_ctx;
    loff_t in = (loff_t)src_offset, out = (loff_t)dst_offset;
    ssize_t n;

    (void)fs;
    if (src->vlink || dst->vlink || src->is_path || dst->is_path)
        return -EBADF;
    n = copy_file_range(src->fd, &in, dst->fd, &out, length, flags);
    if (n < 0)
        return -errno;
    *bytes_copied = (size_t)n;
    return 0;
}
