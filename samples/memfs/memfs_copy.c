/**
 * @file memfs_copy.c
 * copy_file_range(2) inside memfs: the source's data is copied page run by
 * page run, and its holes stay holes in the destination (the range there
 * is zeroed and its whole pages freed), so a sparse file copies into a
 * sparse file without reading its holes through the kernel.
 */
#define _GNU_SOURCE

#include "memfs_internal.h"

#include <errno.h>
#include <stdlib.h>

/* Bytes copied through the bounce buffer at a time. */
#define COPY_CHUNK (64u * 1024u)

/* Copy [at, at + n) of @src to @dst at @to, @n at most COPY_CHUNK. */
static int copy_data(struct memfs *m, struct memfs_node *src,
                     struct memfs_node *dst, uint64_t at, uint64_t to,
                     size_t n, void *buf)
{
    uint64_t pages_before = dst->data.page_count;
    int err;

    err = memfs_check_room(m, memfs_data_missing_pages(&dst->data, to, n));
    if (err < 0)
        return err;
    memfs_data_read(&src->data, buf, at, n);
    err = memfs_data_write(&dst->data, buf, to, n);
    memfs_account_pages(m, dst, pages_before);
    return err;
}

/* The destination reads zeros in [to, to + n), as the source's hole. */
static void copy_hole(struct memfs *m, struct memfs_node *dst, uint64_t to,
                      uint64_t n)
{
    uint64_t pages_before = dst->data.page_count;

    memfs_data_zero(&dst->data, to, n);
    memfs_account_pages(m, dst, pages_before);
}

int memfs_op_copy_file_range(fsp_fs_t *fs, void *src_ctx, uint64_t src_offset,
                             void *dst_ctx, uint64_t dst_offset,
                             size_t length, uint32_t flags,
                             size_t *bytes_copied)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *src = src_ctx, *dst = dst_ctx;
    uint64_t limit = m->options.max_file_size, copied = 0, len = length;
    void *buf = malloc(COPY_CHUNK);
    int err;

    memfs_write_lock(m);
    err = !buf ? -ENOMEM : flags ? -EINVAL : memfs_check_regular(src);
    if (err == 0)
        err = memfs_check_regular(dst);
    if (err == 0) /* immutable or append-only: as a write would be */
        err = memfs_flags_check(dst, MEMFS_CHANGE_DATA);
    if (err < 0)
        goto out;
    if (src_offset >= src->size)
        goto out; /* nothing to copy at or beyond end of file */
    if (len > src->size - src_offset)
        len = src->size - src_offset;
    if (dst_offset > limit || len > limit - dst_offset) {
        err = -EFBIG;
        goto out;
    }
    while (copied < len) {
        uint64_t at = src_offset + copied, end = src_offset + len, next;

        next = memfs_data_seek(&src->data, at, true);
        if (next > at) { /* a hole up to the next data */
            next = next < end ? next : end;
            copy_hole(m, dst, dst_offset + copied, next - at);
            copied += next - at;
            continue;
        }
        next = memfs_data_seek(&src->data, at, false);
        next = next < end ? next : end;
        if (next - at > COPY_CHUNK)
            next = at + COPY_CHUNK;
        err = copy_data(m, src, dst, at, dst_offset + copied, next - at, buf);
        if (err < 0)
            break;
        copied += next - at;
    }
    if (copied) {
        err = 0; /* a short copy, as a short write */
        if (dst_offset + copied > dst->size)
            dst->size = dst_offset + copied;
        memfs_node_touch_modified(dst);
    }
out:
    memfs_unlock(m);
    free(buf);
    if (err == 0)
        *bytes_copied = copied;
    return err;
}
