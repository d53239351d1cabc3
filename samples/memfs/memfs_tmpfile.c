/**
 * @file memfs_tmpfile.c
 * open(2) with O_TMPFILE: a regular file that no directory lists. Its
 * nlink is 0 and it is marked linkable, so that link() may give it a
 * first name (linkat(2) from /proc/self/fd); otherwise close() frees it
 * with its last open, as for any unlinked file (memfs_node_release).
 */
#define _GNU_SOURCE

#include "memfs_internal.h"

#include <errno.h>
#include <sys/stat.h>

int memfs_op_create_tmpfile(fsp_fs_t *fs, const char *dir_path,
                            const fsp_create_info_t *ci, void **file_ctx,
                            fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *dir, *node;
    int err;

    memfs_write_lock(m);
    err = memfs_lookup(m, dir_path, &dir);
    if (err < 0)
        goto out;
    if (!S_ISDIR(dir->mode)) {
        err = -ENOTDIR;
        goto out;
    }
    if (!S_ISREG(ci->mode)) {
        err = -EINVAL;
        goto out;
    }
    err = memfs_make_node(m, dir, ci, &node); /* the set-group-ID rule */
    if (err < 0)
        goto out;
    node->nlink = 0;
    node->linkable = true;
    node->open_count = 1;
    *file_ctx = node;
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}
