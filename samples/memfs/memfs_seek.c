/**
 * @file memfs_seek.c
 * lseek(2) with SEEK_DATA and SEEK_HOLE, from a file's sparse pages: an
 * allocated page is data (written, or allocated by fallocate), a missing
 * one a hole, and end of file is a hole too. Answers are page-aligned but
 * never before the offset asked about, as on tmpfs.
 */
#define _GNU_SOURCE

#include "memfs_internal.h"

#include <errno.h>
#include <unistd.h>

int memfs_op_seek(fsp_fs_t *fs, void *file_ctx, uint64_t offset, int whence,
                  uint64_t *result)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    uint64_t found;
    int err;

    memfs_read_lock(m);
    err = memfs_check_regular(node);
    if (err < 0)
        goto out;
    if (offset >= node->size) {
        err = -ENXIO; /* at or beyond end of file: neither data nor hole */
        goto out;
    }
    found = memfs_data_seek(&node->data, offset, whence == SEEK_DATA);
    if (found < offset)
        found = offset; /* inside the page that holds @offset */
    if (whence == SEEK_DATA && found >= node->size) {
        err = -ENXIO; /* no data after @offset */
        goto out;
    }
    if (whence == SEEK_HOLE && found > node->size)
        found = node->size; /* the hole at end of file */
    *result = found;
out:
    memfs_unlock(m);
    return err;
}
