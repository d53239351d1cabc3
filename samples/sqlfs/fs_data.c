/**
 * @file fs_data.c
 * The data of regular files, in chunks of SQLFS_CHUNK_SIZE bytes: read,
 * write, truncation and fallocate.
 *
 * The rule every function keeps: a chunk holds at most the bytes up to the
 * file's size, and a byte that no chunk holds reads as zero. A missing
 * chunk is a hole; a chunk shorter than SQLFS_CHUNK_SIZE ends in one.
 * Shrinking a file trims or deletes the chunks past its new end, so that
 * growing it again uncovers zeros, never old bytes.
 */
#include "sqlfs_internal.h"

#include <errno.h>
#include <linux/falloc.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* A chunk's worth of bytes per worker thread, for read-modify-write. */
static __thread unsigned char chunk_buf[SQLFS_CHUNK_SIZE];

/* Data callbacks apply to regular files only. */
static int check_regular(const struct sqlfs_node *node)
{
    if (S_ISREG(node->mode))
        return 0;
    return S_ISDIR(node->mode) ? -EISDIR : -EINVAL;
}

/* Begin a transaction on a regular file and read its inode. */
static int begin_on_regular(struct sqlfs *s, const struct sqlfs_node *node,
                            bool write, struct sqlfs_txn **t,
                            struct sqlfs_inode *in)
{
    int err = check_regular(node);

    return err < 0 ? err : sqlfs_begin_on(s, node->ino, write, t, in);
}

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* Read bytes [offset, offset + length) of the file; all within its size. */
static int read_range(struct sqlfs *s, struct sqlfs_txn *t, uint64_t ino,
                      unsigned char *out, uint64_t offset, size_t length)
{
    while (length > 0) {
        uint64_t index = offset / SQLFS_CHUNK_SIZE;
        size_t at = (size_t)(offset % SQLFS_CHUNK_SIZE), stored, n;
        int err;

        n = (size_t)min_u64(length, SQLFS_CHUNK_SIZE - at);
        err = s->db->chunk_read(t, ino, index, chunk_buf, &stored);
        if (err < 0)
            return err;
        if (stored > at) {
            size_t have = min_u64(n, stored - at);
            memcpy(out, chunk_buf + at, have);
            memset(out + have, 0, n - have);
        } else {
            memset(out, 0, n); /* a hole */
        }
        out += n;
        offset += n;
        length -= n;
    }
    return 0;
}

/* A read that pends: where its answer goes. */
struct pending_read {
    fsp_fs_t *fs;
    uint64_t hint;
};

static void read_done(void *context, int error, size_t bytes)
{
    struct pending_read *p = context;
    fsp_response_t rsp = {.hint = p->hint, .error = error,
                          .bytes_transferred = bytes};

    fsp_fs_send_response(p->fs, &rsp); /* -ECANCELED if interrupted */
    free(p);
}

int sqlfs_op_read(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                  size_t length, size_t *bytes_transferred)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct pending_read *p;
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    /* A backend with asynchronous reads answers later: no worker waits
     * for the server. */
    if (s->db->read_async && check_regular(node) == 0 &&
        (p = malloc(sizeof *p)) != NULL) {
        p->fs = fs;
        p->hint = fsp_fs_operation_context()->hint;
        if (s->db->read_async(s->backend, node->ino, offset, length, buf,
                              read_done, p) == 0)
            return FSP_PENDING;
        free(p);
    }

    err = begin_on_regular(s, node, false, &t, &in);
    if (err < 0)
        return err;
    if (offset >= in.size)
        goto out; /* at or past the end: 0 bytes */
    length = (size_t)min_u64(length, in.size - offset);
    err = read_range(s, t, node->ino, buf, offset, length);
    if (err == 0)
        *bytes_transferred = length;
out:
    return sqlfs_end(s, t, err);
}

/* Write one chunk's part: bytes [at, at + n) of chunk @p index. A whole
 * chunk is written as it is; a part is merged into what is stored. */
static int write_chunk(struct sqlfs *s, struct sqlfs_txn *t, uint64_t ino,
                       uint64_t index, size_t at, const unsigned char *data,
                       size_t n)
{
    size_t stored;
    int err;

    if (at == 0 && n == SQLFS_CHUNK_SIZE)
        return s->db->chunk_write(t, ino, index, data, n);
    err = s->db->chunk_read(t, ino, index, chunk_buf, &stored);
    if (err < 0)
        return err;
    if (stored < at)
        memset(chunk_buf + stored, 0, at - stored); /* the hole before */
    memcpy(chunk_buf + at, data, n);
    if (stored < at + n)
        stored = at + n;
    return s->db->chunk_write(t, ino, index, chunk_buf, stored);
}

int sqlfs_op_write(fsp_fs_t *fs, void *file_ctx, const void *buf,
                   uint64_t offset, size_t length, int flags,
                   size_t *bytes_transferred)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    const unsigned char *data = buf;
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    uint64_t at;
    size_t left;
    int err;

    err = begin_on_regular(s, node, true, &t, &in);
    if (err < 0)
        return err;
    if (length == 0)
        goto out;
    if (flags & FSP_WRITE_TO_END_OF_FILE)
        offset = in.size;
    /* As write(2) at RLIMIT_FSIZE: what fits, EFBIG only if nothing. */
    if (offset >= SQLFS_MAX_FILE_SIZE) {
        err = -EFBIG;
        goto out;
    }
    length = (size_t)min_u64(length, SQLFS_MAX_FILE_SIZE - offset);
    for (at = offset, left = length; left > 0;) {
        size_t within = (size_t)(at % SQLFS_CHUNK_SIZE);
        size_t n = (size_t)min_u64(left, SQLFS_CHUNK_SIZE - within);

        err = write_chunk(s, t, node->ino, at / SQLFS_CHUNK_SIZE, within,
                          data, n);
        if (err < 0)
            goto out;
        data += n;
        at += n;
        left -= n;
    }
    if (offset + length > in.size)
        in.size = offset + length;
    in.mtime = in.ctime = sqlfs_now();
    err = s->db->inode_update(t, &in);
    if (err == 0)
        *bytes_transferred = length;
out:
    return sqlfs_end(s, t, err);
}

/* Make bytes [offset, offset + length) read as zeros: whole chunks are
 * deleted, the parts of the two at the ends zeroed (or cut short, for the
 * chunk holding the end of what is stored). */
static int zero_range(struct sqlfs *s, struct sqlfs_txn *t, uint64_t ino,
                      uint64_t offset, uint64_t length)
{
    uint64_t end = offset + length;
    uint64_t first = offset / SQLFS_CHUNK_SIZE, last = (end - 1) / SQLFS_CHUNK_SIZE;
    uint64_t index;
    int err = 0;

    for (index = first; index <= last && err == 0; index++) {
        uint64_t start = index * SQLFS_CHUNK_SIZE;
        size_t from = offset > start ? (size_t)(offset - start) : 0;
        size_t to = (size_t)min_u64(end - start, SQLFS_CHUNK_SIZE), stored;

        if (from == 0 && to == SQLFS_CHUNK_SIZE) {
            /* Whole chunks in a row: one delete for all of them. */
            uint64_t upto = end / SQLFS_CHUNK_SIZE - 1;
            err = s->db->chunk_delete(t, ino, index, upto);
            index = upto;
            continue;
        }
        err = s->db->chunk_read(t, ino, index, chunk_buf, &stored);
        if (err < 0 || stored <= from)
            continue; /* nothing stored there */
        if (to >= stored)
            err = from == 0 ? s->db->chunk_delete(t, ino, index, index)
                            : s->db->chunk_write(t, ino, index, chunk_buf,
                                                 from);
        else {
            memset(chunk_buf + from, 0, to - from);
            err = s->db->chunk_write(t, ino, index, chunk_buf, stored);
        }
    }
    return err;
}

/* Change the size of a regular file: shrinking drops the data past the
 * new end (everything stored there, preallocated or not). */
static int resize(struct sqlfs *s, struct sqlfs_txn *t, struct sqlfs_inode *in,
                  uint64_t new_size)
{
    int err;

    if (new_size > SQLFS_MAX_FILE_SIZE)
        return -EFBIG;
    if (new_size < in->size) {
        err = zero_range(s, t, in->ino, new_size,
                         SQLFS_MAX_FILE_SIZE - new_size);
        if (err < 0)
            return err;
    }
    in->size = new_size;
    in->mtime = in->ctime = sqlfs_now();
    return 0;
}

/* set_file_size and overwrite: one transaction around resize(). */
static int change_size(fsp_fs_t *fs, struct sqlfs_node *node,
                       uint64_t new_size, fsp_file_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    err = begin_on_regular(s, node, true, &t, &in);
    if (err < 0)
        return err;
    err = resize(s, t, &in, new_size);
    if (err == 0)
        err = s->db->inode_update(t, &in);
    if (err == 0 && info)
        err = sqlfs_info(s, t, &in, info);
    return sqlfs_end(s, t, err);
}

int sqlfs_op_overwrite(fsp_fs_t *fs, void *file_ctx)
{
    return change_size(fs, file_ctx, 0, NULL);
}

int sqlfs_op_set_file_size(fsp_fs_t *fs, void *file_ctx, uint64_t new_size,
                           fsp_file_info_t *info)
{
    return change_size(fs, file_ctx, new_size, info);
}

/*
 * Reserve bytes [offset, end) of a file whose size reaches @end: store
 * each chunk of the range at least up to the range's end in it, padded
 * with zeros, so that the space is taken now (a write into the range then
 * grows nothing) and a volume without room fails the fallocate with
 * ENOSPC, not a later write. Fails with ENOSPC at once, without writing,
 * when the range, less what the file stores already, is larger than the
 * room the volume reports.
 */
static int reserve_range(struct sqlfs *s, struct sqlfs_txn *t, uint64_t ino,
                         uint64_t offset, uint64_t end)
{
    struct sqlfs_usage usage;
    uint64_t index, stored_bytes = 0, need = end - offset;
    int err;

    err = s->db->usage(t, &usage);
    if (err == 0 && need > usage.free_bytes) /* less what is there */
        err = s->db->chunk_bytes(t, ino, &stored_bytes);
    if (err < 0)
        return err;
    if (need - min_u64(need, stored_bytes) > usage.free_bytes)
        return -ENOSPC;
    for (index = offset / SQLFS_CHUNK_SIZE; err == 0 &&
         index * SQLFS_CHUNK_SIZE < end; index++) {
        uint64_t start = index * SQLFS_CHUNK_SIZE;
        size_t want = (size_t)(min_u64(end, start + SQLFS_CHUNK_SIZE) - start);
        size_t stored;

        err = s->db->chunk_read(t, ino, index, chunk_buf, &stored);
        if (err == 0 && stored < want) {
            memset(chunk_buf + stored, 0, want - stored);
            err = s->db->chunk_write(t, ino, index, chunk_buf, want);
        }
    }
    return err;
}

int sqlfs_op_allocate(fsp_fs_t *fs, void *file_ctx, int mode, uint64_t offset,
                      uint64_t length)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    err = check_regular(node);
    if (err < 0)
        return err;
    if (length == 0)
        return -EINVAL; /* as fallocate(2) */
    if (length > SQLFS_MAX_FILE_SIZE || offset > SQLFS_MAX_FILE_SIZE - length)
        return -EFBIG;
    if (mode != 0 && mode != FALLOC_FL_KEEP_SIZE &&
        mode != (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE))
        return -EOPNOTSUPP; /* collapse, insert, zero range */
    err = sqlfs_begin_on(s, node->ino, true, &t, &in);
    if (err < 0)
        return err;
    if (mode & FALLOC_FL_PUNCH_HOLE) {
        if (offset < in.size)
            err = zero_range(s, t, in.ino, offset,
                             min_u64(length, in.size - offset));
        in.mtime = in.ctime = sqlfs_now();
    } else {
        /* Chunks hold nothing past the size: with KEEP_SIZE, what lies
         * beyond it is not reserved (docs/SQLFS.md). */
        if (!(mode & FALLOC_FL_KEEP_SIZE) && offset + length > in.size) {
            in.size = offset + length;
            in.mtime = in.ctime = sqlfs_now();
        }
        if (offset < in.size)
            err = reserve_range(s, t, in.ino, offset,
                                min_u64(offset + length, in.size));
    }
    if (err == 0)
        err = s->db->inode_update(t, &in);
    return sqlfs_end(s, t, err);
}
