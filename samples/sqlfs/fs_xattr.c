/**
 * @file fs_xattr.c
 * Extended attributes: rows (ino, name, value) of the xattrs table.
 * Listings come in byte order of the names.
 */
#include "sqlfs_internal.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

/** Longest attribute name and largest value Linux allows. */
#define XATTR_NAME_LIMIT 255
#define XATTR_VALUE_LIMIT 65536

/*
 * 0 if @p name may be used on @p node: 1 to 255 bytes (-ERANGE), in one of
 * Linux's namespaces (-EOPNOTSUPP), and not user.* on anything but a
 * regular file or a directory (@p refused: -ENODATA to read, -EPERM to
 * change), where its permission bits mean something else.
 */
static int check_name(const struct sqlfs_node *node, const char *name,
                      int refused)
{
    size_t len = strlen(name);

    if (len == 0 || len > XATTR_NAME_LIMIT)
        return -ERANGE;
    if (strncmp(name, "user.", 5) == 0)
        return S_ISREG(node->mode) || S_ISDIR(node->mode) ? 0 : refused;
    if (strncmp(name, "trusted.", 8) == 0 ||
        strncmp(name, "security.", 9) == 0 ||
        strncmp(name, "system.", 7) == 0)
        return 0;
    return -EOPNOTSUPP;
}

int sqlfs_op_get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       void *buf, size_t size, size_t *length)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct sqlfs_txn *t;
    size_t len;
    int err;

    err = check_name(node, name, -ENODATA);
    if (err < 0)
        return err;
    err = sqlfs_begin(s, false, &t);
    if (err < 0)
        return err;
    err = s->db->xattr_get(t, node->ino, name, buf, size, &len);
    if (err == 0 && size > 0 && len > size)
        err = -ERANGE;
    if (err == 0)
        *length = len;
    return sqlfs_end(s, t, err);
}

/* Set or remove (value NULL) an attribute, and touch ctime. */
static int change_xattr(fsp_fs_t *fs, struct sqlfs_node *node,
                        const char *name, const void *value, size_t size,
                        int flags)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    size_t old_len;
    int err;

    err = check_name(node, name, -EPERM);
    if (err < 0)
        return err;
    err = sqlfs_begin(s, true, &t);
    if (err < 0)
        return err;
    if (!value) {
        err = s->db->xattr_remove(t, node->ino, name);
    } else {
        err = s->db->xattr_get(t, node->ino, name, NULL, 0, &old_len);
        if (err == 0 && (flags & XATTR_CREATE))
            err = -EEXIST;
        else if (err == -ENODATA)
            err = flags & XATTR_REPLACE ? -ENODATA : 0;
        if (err == 0)
            err = s->db->xattr_set(t, node->ino, name, value, size);
    }
    if (err == 0)
        err = s->db->inode_get(t, node->ino, &in);
    if (err == 0) {
        in.ctime = sqlfs_now();
        err = s->db->inode_update(t, &in);
    }
    return sqlfs_end(s, t, err);
}

int sqlfs_op_set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       const void *value, size_t size, int flags)
{
    if (size > XATTR_VALUE_LIMIT)
        return -E2BIG;
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE))
        return -EINVAL;
    return change_xattr(fs, file_ctx, name, value ? value : "", size, flags);
}

int sqlfs_op_remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name)
{
    return change_xattr(fs, file_ctx, name, NULL, 0, 0);
}

/* The names of a listing, packed as listxattr(2) wants them. */
struct name_list {
    char *buf;
    size_t size;  /* 0: count only */
    size_t total;
};

static bool add_name(void *context, const char *name)
{
    struct name_list *l = context;
    size_t len = strlen(name) + 1;

    if (l->size > 0 && l->total + len <= l->size)
        memcpy(l->buf + l->total, name, len);
    l->total += len;
    return true;
}

int sqlfs_op_list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                        size_t *length)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct name_list l = {.buf = buf, .size = size};
    struct sqlfs_txn *t;
    int err;

    err = sqlfs_begin(s, false, &t);
    if (err < 0)
        return err;
    err = s->db->xattr_list(t, node->ino, add_name, &l);
    if (err == 0 && size > 0 && l.total > size)
        err = -ERANGE;
    if (err == 0)
        *length = l.total;
    return sqlfs_end(s, t, err);
}
