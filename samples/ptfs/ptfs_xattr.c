/**
 * @file ptfs_xattr.c
 * Extended attributes, passed to the file of SOURCE: user., trusted. and
 * security. alike, with its errors as they are (ENODATA, ERANGE, E2BIG,
 * EEXIST, ENOTSUP...).
 *
 * A descriptor open for data takes the f*xattr calls. An O_PATH one (the
 * meta opens behind getfattr and setfattr) does not: its file is reached
 * as /proc/self/fd/N, the file the descriptor holds whatever its name is
 * now, never a path that could be swapped for a link out of SOURCE.
 */
#define _GNU_SOURCE

#include "ptfs_internal.h"

#include <errno.h>
#include <sys/xattr.h>

int ptfs_op_get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                      void *buf, size_t size, size_t *length)
{
    struct ptfs_file *f = file_ctx;
    char fd_path[32];
    ssize_t n;

    (void)fs;
    if (f->vlink)
        return -ENODATA; /* a link shown, not stored: it has none */
    if (f->is_path) {
        ptfs_fd_path(f->fd, fd_path);
        n = getxattr(fd_path, name, buf, size);
    } else {
        n = fgetxattr(f->fd, name, buf, size);
    }
    if (n < 0)
        return -errno;
    *length = (size_t)n;
    return 0;
}

int ptfs_op_set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                      const void *value, size_t size, int flags)
{
    struct ptfs_file *f = file_ctx;
    char fd_path[32];
    int r;

    (void)fs;
    if (f->vlink)
        return -EPERM;
    if (f->is_path) {
        ptfs_fd_path(f->fd, fd_path);
        r = setxattr(fd_path, name, value, size, flags);
    } else {
        r = fsetxattr(f->fd, name, value, size, flags);
    }
    return r < 0 ? -errno : 0;
}

int ptfs_op_list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                       size_t *length)
{
    struct ptfs_file *f = file_ctx;
    char fd_path[32];
    ssize_t n;

    (void)fs;
    if (f->vlink)
        return 0; /* empty list */
    if (f->is_path) {
        ptfs_fd_path(f->fd, fd_path);
        n = listxattr(fd_path, buf, size);
    } else {
        n = flistxattr(f->fd, buf, size);
    }
    if (n < 0)
        return -errno;
    *length = (size_t)n;
    return 0;
}

int ptfs_op_remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name)
{
    struct ptfs_file *f = file_ctx;
    char fd_path[32];
    int r;

    (void)fs;
    if (f->vlink)
        return -ENODATA;
    if (f->is_path) {
        ptfs_fd_path(f->fd, fd_path);
        r = removexattr(fd_path, name);
    } else {
        r = fremovexattr(f->fd, name);
    }
    return r < 0 ? -errno : 0;
}
