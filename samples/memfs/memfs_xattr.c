/**
 * @file memfs_xattr.c
 * Extended attributes: the get/set/list/remove_xattr callbacks of memfs.
 *
 * Each node keeps its attributes in a singly linked list, in the order of
 * creation: files rarely have more than a handful, and a list keeps
 * listxattr's order stable. Names and values count against the volume's
 * size, like file data.
 */
#include "memfs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>

/* ---- the list of one node ---- */

/* The link that points to the attribute @p name of @p node: either the
 * attribute's own (*link non-NULL), or the list's end (*link NULL), where
 * a new attribute goes. Replacing and removing both work on the link. */
static struct memfs_xattr **xattr_link(struct memfs_node *node,
                                       const char *name)
{
    struct memfs_xattr **link = &node->xattrs;

    while (*link && strcmp((*link)->name, name) != 0)
        link = &(*link)->next;
    return link;
}

/* A new attribute (not in any list), or NULL if out of memory. */
static struct memfs_xattr *xattr_new(const char *name, const void *value,
                                     size_t size)
{
    size_t name_len = strlen(name);
    struct memfs_xattr *xattr = malloc(sizeof *xattr + name_len + 1 + size);

    if (!xattr)
        return NULL;
    xattr->next = NULL;
    xattr->name_len = name_len;
    xattr->value_size = size;
    memcpy(xattr->name, name, name_len + 1);
    if (size > 0)
        memcpy(xattr->name + name_len + 1, value, size);
    return xattr;
}

static const void *xattr_value(const struct memfs_xattr *xattr)
{
    return xattr->name + xattr->name_len + 1;
}

/* What an attribute is charged against the volume's size. */
static uint64_t xattr_cost(const struct memfs_xattr *xattr)
{
    return xattr->name_len + xattr->value_size;
}

void memfs_xattr_free_all(struct memfs_node *node)
{
    struct memfs_xattr *xattr, *next;

    for (xattr = node->xattrs; xattr; xattr = next) {
        next = xattr->next;
        free(xattr);
    }
    node->xattrs = NULL;
}

/* ---- names ---- */

/* A name Linux accepts: 1 to 255 bytes, in one of its four namespaces. */
static int check_xattr_name(const char *name)
{
    static const char *const namespaces[] = {"user.", "trusted.",
                                             "security.", "system."};
    size_t len = strlen(name), i;

    if (len == 0 || len > MEMFS_XATTR_NAME_MAX)
        return -ERANGE;
    for (i = 0; i < sizeof namespaces / sizeof namespaces[0]; i++)
        if (strncmp(name, namespaces[i], strlen(namespaces[i])) == 0)
            return 0;
    return -EOPNOTSUPP;
}

/*
 * Linux allows user.* attributes on regular files and directories only:
 * on a symlink or a device, the permission bits that would guard them
 * mean something else. Reads find nothing there, writes fail with EPERM.
 * (The kernel enforces this before asking; memfs does not rely on it.)
 */
static bool user_xattr_refused(const struct memfs_node *node, const char *name)
{
    return strncmp(name, "user.", 5) == 0 && !S_ISREG(node->mode) &&
           !S_ISDIR(node->mode);
}

/* ---- the callbacks ---- */

int memfs_op_get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       void *buf, size_t size, size_t *length)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    struct memfs_xattr *xattr;
    int err;

    memfs_read_lock(m);
    err = check_xattr_name(name);
    if (err < 0)
        goto out;
    xattr = user_xattr_refused(node, name) ? NULL : *xattr_link(node, name);
    if (!xattr) {
        err = -ENODATA;
        goto out;
    }
    if (size == 0) { /* just the length, please */
        *length = xattr->value_size;
        goto out;
    }
    if (size < xattr->value_size) {
        err = -ERANGE;
        goto out;
    }
    memcpy(buf, xattr_value(xattr), xattr->value_size);
    *length = xattr->value_size;
out:
    memfs_unlock(m);
    return err;
}

int memfs_op_set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       const void *value, size_t size, int flags)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    struct memfs_xattr **link, *old, *new = NULL;
    uint64_t old_cost;
    int err;

    memfs_write_lock(m);
    err = check_xattr_name(name);
    if (err == 0)
        err = memfs_flags_check(node, MEMFS_CHANGE_ATTR);
    if (err < 0)
        goto out;
    if (size > MEMFS_XATTR_VALUE_MAX) {
        err = -E2BIG;
        goto out;
    }
    if (flags & ~(XATTR_CREATE | XATTR_REPLACE)) {
        err = -EINVAL;
        goto out;
    }
    if (user_xattr_refused(node, name)) {
        err = -EPERM;
        goto out;
    }
    link = xattr_link(node, name);
    old = *link;
    if (old && (flags & XATTR_CREATE)) {
        err = -EEXIST;
        goto out;
    }
    if (!old && (flags & XATTR_REPLACE)) {
        err = -ENODATA;
        goto out;
    }
    new = xattr_new(name, value, size);
    if (!new) {
        err = -ENOMEM;
        goto out;
    }
    /* Names and values count against the volume's size, like data. */
    old_cost = old ? xattr_cost(old) : 0;
    if (xattr_cost(new) > old_cost &&
        xattr_cost(new) - old_cost > memfs_free_bytes(m)) {
        free(new);
        err = -ENOSPC;
        goto out;
    }
    /* The new attribute takes the old one's place in the list (or the
     * end's), so listings keep the order of creation. */
    new->next = old ? old->next : NULL;
    *link = new;
    free(old);
    m->used_bytes += xattr_cost(new) - old_cost;
    node->xattr_bytes += xattr_cost(new) - old_cost;
    node->ctime = memfs_now();
out:
    memfs_unlock(m);
    return err;
}

int memfs_op_list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                        size_t *length)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    const struct memfs_xattr *xattr;
    size_t total = 0;
    int err = 0;

    memfs_read_lock(m);
    for (xattr = node->xattrs; xattr; xattr = xattr->next)
        total += xattr->name_len + 1;
    if (size == 0) { /* just the length, please */
        *length = total;
        goto out;
    }
    if (size < total) {
        err = -ERANGE;
        goto out;
    }
    for (xattr = node->xattrs; xattr; xattr = xattr->next) {
        memcpy(buf, xattr->name, xattr->name_len + 1);
        buf += xattr->name_len + 1;
    }
    *length = total;
out:
    memfs_unlock(m);
    return err;
}

int memfs_op_remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    struct memfs_xattr **link, *old;
    int err;

    memfs_write_lock(m);
    err = check_xattr_name(name);
    if (err == 0)
        err = memfs_flags_check(node, MEMFS_CHANGE_ATTR);
    if (err < 0)
        goto out;
    if (user_xattr_refused(node, name)) {
        err = -EPERM;
        goto out;
    }
    link = xattr_link(node, name);
    old = *link;
    if (!old) {
        err = -ENODATA;
        goto out;
    }
    *link = old->next;
    m->used_bytes -= xattr_cost(old);
    node->xattr_bytes -= xattr_cost(old);
    free(old);
    node->ctime = memfs_now();
out:
    memfs_unlock(m);
    return err;
}

