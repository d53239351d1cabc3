/**
 * @file memfs_slowio_all.c
 * slowio_all: every callback that may complete later does, not only
 * reads, writes and directory reads. Each wrapper calls memfs's own
 * callback, which does the work at once, and hands its whole result to
 * memfs_slowio_answer_later(), which sends it later with the request's
 * hint. The work is done before the answer, as a file system that writes
 * ahead would; what the mode tests is fsp: every kind of request goes
 * through FSP_PENDING, the response structure and the early response.
 *
 * An FSP_OPEN_META open must answer at once (fsp.h), so open() passes
 * those through.
 */
#define _GNU_SOURCE

#include "memfs_internal.h"

#include <string.h>

static const fsp_fs_interface_t *base_of(fsp_fs_t *fs)
{
    return &memfs_of(fs)->base_interface;
}

/* The answer of a callback that returned @error with @rsp's fields. */
static int later(fsp_fs_t *fs, int error, fsp_response_t *rsp)
{
    rsp->error = error;
    return memfs_slowio_answer_later(memfs_of(fs)->slowio, fs, rsp);
}

static int get_volume_info(fsp_fs_t *fs, fsp_volume_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->get_volume_info(fs, info);

    rsp.volume_info = *info;
    return later(fs, err, &rsp);
}

static int get_file_info_by_name(fsp_fs_t *fs, const char *path,
                                 fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->get_file_info_by_name(fs, path, info);

    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int create(fsp_fs_t *fs, const char *path,
                  const fsp_create_info_t *ci, void **file_ctx,
                  fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->create(fs, path, ci, file_ctx, info);

    rsp.file_context = *file_ctx;
    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int open_file(fsp_fs_t *fs, const char *path, int flags,
                     void **file_ctx, fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->open(fs, path, flags, file_ctx, info);

    if (flags & FSP_OPEN_META)
        return err;
    rsp.file_context = *file_ctx;
    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int overwrite(fsp_fs_t *fs, void *file_ctx)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->overwrite(fs, file_ctx), &rsp);
}

static int flush(fsp_fs_t *fs, void *file_ctx)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->flush(fs, file_ctx), &rsp);
}

static int get_file_info(fsp_fs_t *fs, void *file_ctx, fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->get_file_info(fs, file_ctx, info);

    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int set_basic_info(fsp_fs_t *fs, void *file_ctx, uint32_t valid,
                          const fsp_file_info_t *new_info,
                          fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->set_basic_info(fs, file_ctx, valid, new_info,
                                          info);

    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int set_file_size(fsp_fs_t *fs, void *file_ctx, uint64_t new_size,
                         fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->set_file_size(fs, file_ctx, new_size, info);

    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int allocate(fsp_fs_t *fs, void *file_ctx, int mode, uint64_t offset,
                    uint64_t length)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->allocate(fs, file_ctx, mode, offset,
                                           length),
                 &rsp);
}

static int unlink_file(fsp_fs_t *fs, void *file_ctx, const char *path)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->unlink(fs, file_ctx, path), &rsp);
}

static int rename_file(fsp_fs_t *fs, void *file_ctx, const char *path,
                       const char *new_path, unsigned flags)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->rename(fs, file_ctx, path, new_path,
                                         flags),
                 &rsp);
}

static int link_file(fsp_fs_t *fs, void *file_ctx, const char *new_path,
                     fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->link(fs, file_ctx, new_path, info);

    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

static int get_reparse_point(fsp_fs_t *fs, void *file_ctx, char *buf,
                             size_t size)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->get_reparse_point(fs, file_ctx, buf, size),
                 &rsp);
}

static int get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                     void *buf, size_t size, size_t *length)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->get_xattr(fs, file_ctx, name, buf, size, length);

    rsp.bytes_transferred = *length;
    return later(fs, err, &rsp);
}

static int set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                     const void *value, size_t size, int flags)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->set_xattr(fs, file_ctx, name, value, size,
                                            flags),
                 &rsp);
}

static int list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                      size_t *length)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->list_xattr(fs, file_ctx, buf, size, length);

    rsp.bytes_transferred = *length;
    return later(fs, err, &rsp);
}

static int remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name)
{
    fsp_response_t rsp = {0};

    return later(fs, base_of(fs)->remove_xattr(fs, file_ctx, name), &rsp);
}

/* ---- lseek, copy_file_range, O_TMPFILE ---- */

static int seek(fsp_fs_t *fs, void *file_ctx, uint64_t offset, int whence,
                uint64_t *result)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->seek(fs, file_ctx, offset, whence, result);

    rsp.offset = *result;
    return later(fs, err, &rsp);
}

static int copy_file_range(fsp_fs_t *fs, void *src_ctx, uint64_t src_offset,
                           void *dst_ctx, uint64_t dst_offset, size_t length,
                           uint32_t flags, size_t *bytes_copied)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->copy_file_range(fs, src_ctx, src_offset, dst_ctx,
                                           dst_offset, length, flags,
                                           bytes_copied);

    rsp.bytes_transferred = *bytes_copied;
    return later(fs, err, &rsp);
}

static int create_tmpfile(fsp_fs_t *fs, const char *dir_path,
                          const fsp_create_info_t *ci, void **file_ctx,
                          fsp_file_info_t *info)
{
    fsp_response_t rsp = {0};
    int err = base_of(fs)->create_tmpfile(fs, dir_path, ci, file_ctx, info);

    rsp.file_context = *file_ctx;
    rsp.file_info = *info;
    return later(fs, err, &rsp);
}

void memfs_slowio_wrap_all(fsp_fs_interface_t *iface,
                           fsp_fs_interface_t *base)
{
    *base = *iface;
    iface->get_volume_info = get_volume_info;
    iface->get_file_info_by_name = get_file_info_by_name;
    iface->create = create;
    iface->open = open_file;
    iface->overwrite = overwrite;
    iface->flush = flush;
    iface->get_file_info = get_file_info;
    iface->set_basic_info = set_basic_info;
    iface->set_file_size = set_file_size;
    iface->allocate = allocate;
    iface->unlink = unlink_file;
    iface->rename = rename_file;
    iface->link = link_file;
    iface->get_reparse_point = get_reparse_point;
    iface->get_xattr = get_xattr;
    iface->set_xattr = set_xattr;
    iface->list_xattr = list_xattr;
    iface->remove_xattr = remove_xattr;
    iface->seek = seek;
    iface->copy_file_range = copy_file_range;
    iface->create_tmpfile = create_tmpfile;
}
