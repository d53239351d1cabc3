/**
 * @file memfs.c
 * The callbacks of memfs: every member of fsp_fs_interface but cleanup
 * (see the table at the end), the extended attribute ones being in
 * memfs_xattr.c.
 *
 * Conventions of this file, which a file system copied from it may keep:
 * - each callback finds its volume with memfs_of(fs), takes the volume's
 *   lock, and leaves through one exit ("goto out") that drops the lock;
 * - errors are negative errno values in `err`; out-parameters are written
 *   only on success (fsp zeroed them before the call);
 * - the file context of an open is the node itself, with a reference:
 *   open and create add one, close drops it.
 *
 * What memfs leaves to the kernel: permission checks (default_permissions:
 * the kernel checks mode, owner and group before calling), the sticky bit,
 * which of unlink/rmdir fits a file's type, and stripping the set-group-ID
 * bit of files created by non-members. What it does itself: everything a
 * file system must know about its own structure (see each callback).
 *
 * Access times: the kernel keeps none for a FUSE file (its inodes are
 * S_NOATIME), so reads and listings update atime here, as the volume's
 * policy says (relatime by default, strictatime, noatime, nodiratime:
 * fsp_fs_atime_due()). The check runs under the shared lock a read holds
 * anyway; only a read that finds an update due takes the lock alone, once
 * (under relatime: the first read after a change, or after a day).
 */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */

#include "memfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Space accounting                                                    */
/* ------------------------------------------------------------------ */

/* -ENOSPC unless the volume has room for @p pages more data pages. */
int memfs_check_room(const struct memfs *m, uint64_t pages)
{
    return pages <= memfs_free_bytes(m) / MEMFS_PAGE_SIZE ? 0 : -ENOSPC;
}

/* After a file's pages changed in number: bring the volume's count in
 * step. (Unsigned wrap-around in between is harmless: the result is.) */
void memfs_account_pages(struct memfs *m, const struct memfs_node *node,
                         uint64_t pages_before)
{
    m->used_bytes += (node->data.page_count - pages_before) * MEMFS_PAGE_SIZE;
}

/* ------------------------------------------------------------------ */
/* Volume                                                              */
/* ------------------------------------------------------------------ */

static int op_get_volume_info(fsp_fs_t *fs, fsp_volume_info_t *info)
{
    struct memfs *m = memfs_of(fs);

    memfs_read_lock(m);
    info->total_size = m->options.total_size;
    info->free_size = memfs_free_bytes(m);
    info->total_files = m->options.max_nodes;
    info->free_files = m->options.max_nodes - m->node_count;
    info->block_size = MEMFS_PAGE_SIZE;
    info->max_name_length = MEMFS_NAME_MAX;
    strcpy(info->label, "memfs");
    memfs_unlock(m);
    return 0;
}

static void op_dispatcher_stopped(fsp_fs_t *fs, bool normally)
{
    /* Nothing to save: memfs forgets everything by design. The files
     * still open are closed by fsp_fs_delete(), and memfs_delete() frees
     * the rest. A persistent file system would write back here.
     * slowio's queue is answered now: no response may come after
     * fsp_fs_delete(). */
    memfs_slowio_stop(memfs_of(fs)->slowio);
    (void)normally;
}

/* ------------------------------------------------------------------ */
/* Names: lookup, create, open, close                                  */
/* ------------------------------------------------------------------ */

static int op_get_file_info_by_name(fsp_fs_t *fs, const char *path,
                                    fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node;
    int err;

    memfs_read_lock(m);
    err = memfs_lookup(m, path, &node);
    if (err < 0)
        goto out;
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}

/* A new node for create(): type-specific checks, owner, and the group
 * rule of set-group-ID directories. */
int memfs_make_node(struct memfs *m, const struct memfs_node *parent,
                    const fsp_create_info_t *ci, struct memfs_node **out)
{
    uint32_t mode = ci->mode, gid = ci->gid;
    char *link_target = NULL;
    struct memfs_node *node;
    int err;

    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG; /* mknod(2): no type means a regular file */
    switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFIFO:
    case S_IFCHR:
    case S_IFBLK:
    case S_IFSOCK:
        break;
    case S_IFLNK:
        if (!ci->link_target)
            return -EINVAL;
        if (strlen(ci->link_target) > MEMFS_LINK_TARGET_MAX)
            return -ENAMETOOLONG;
        link_target = strdup(ci->link_target);
        if (!link_target)
            return -ENOMEM;
        break;
    default:
        return -EINVAL;
    }

    /*
     * Set-group-ID directories (System V / BSD group inheritance, which
     * every Linux file system implements): a file created in one belongs
     * to the directory's group rather than the creator's, and a directory
     * created in one is set-group-ID itself, so the rule propagates down.
     */
    if (parent->mode & S_ISGID) {
        gid = parent->gid;
        if (S_ISDIR(mode))
            mode |= S_ISGID;
    }

    err = memfs_node_new(m, mode, &node);
    if (err < 0) {
        free(link_target);
        return err;
    }
    node->uid = ci->uid;
    node->gid = gid;
    if (S_ISCHR(mode) || S_ISBLK(mode))
        node->rdev = ci->rdev;
    node->link_target = link_target;
    *out = node;
    return 0;
}

/* Give @p node the name @p entry in directory @p dir. A directory's ".."
 * is a link to its parent, hence the parent's extra nlink. */
static void add_name(struct memfs_node *dir, struct memfs_dirent *entry)
{
    struct memfs_node *node = entry->node;

    memfs_dirmap_insert(&dir->entries, entry);
    if (S_ISDIR(node->mode)) {
        node->nlink = 2; /* its name and its own "." */
        node->parent = dir;
        dir->nlink++;
    } else {
        node->nlink++;
    }
    memfs_node_touch_modified(dir);
}

/* Take the name @p entry out of directory @p dir and free the entry. The
 * node loses that name (a directory all of them: it has only one) and is
 * freed if nothing else holds it. */
static void drop_name(struct memfs *m, struct memfs_node *dir,
                      struct memfs_dirent *entry)
{
    struct memfs_node *node = entry->node;

    memfs_dirmap_remove(&dir->entries, entry->name, entry->name_len);
    free(entry);
    if (S_ISDIR(node->mode)) {
        node->nlink = 0;
        node->parent = NULL;
        dir->nlink--;
    } else {
        node->nlink--;
    }
    node->ctime = memfs_now();
    memfs_node_touch_modified(dir);
    memfs_node_release(m, node);
}

static int op_create(fsp_fs_t *fs, const char *path,
                     const fsp_create_info_t *ci, void **file_ctx,
                     fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *parent, *node;
    struct memfs_dirent *entry;
    const char *name;
    size_t name_len;
    int err;

    memfs_write_lock(m);
    err = memfs_lookup_parent(m, path, &parent, &name, &name_len);
    if (err < 0)
        goto out;
    if (!parent || memfs_dirmap_find(&parent->entries, name, name_len)) {
        err = -EEXIST; /* "/" exists too */
        goto out;
    }
    err = memfs_flags_check(parent, MEMFS_CHANGE_DIR_ADD);
    if (err < 0)
        goto out;
    err = memfs_make_node(m, parent, ci, &node);
    if (err < 0)
        goto out;
    entry = memfs_dirent_new(name, name_len, node);
    if (!entry) {
        memfs_node_destroy(m, node);
        err = -ENOMEM;
        goto out;
    }
    add_name(parent, entry);
    node->open_count = 1;
    *file_ctx = node;
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}

/* What open(2) refuses for a type of file. An FSP_OPEN_META open, for
 * attributes only, is allowed on every type. */
static int check_open_flags(const struct memfs_node *node, int flags)
{
    if ((flags & O_DIRECTORY) && !S_ISDIR(node->mode))
        return -ENOTDIR;
    if (flags & FSP_OPEN_META)
        return 0;
    if (S_ISLNK(node->mode))
        return -ELOOP; /* what O_NOFOLLOW gets; the kernel follows links
                          itself and never opens one otherwise */
    if (S_ISDIR(node->mode) && (flags & O_ACCMODE) != O_RDONLY)
        return -EISDIR;
    return 0;
}

static int op_open(fsp_fs_t *fs, const char *path, int flags,
                   void **file_ctx, fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node;
    int err;

    memfs_write_lock(m); /* open_count changes */
    err = memfs_lookup(m, path, &node);
    if (err < 0)
        goto out;
    err = check_open_flags(node, flags);
    if (err < 0)
        goto out;
    err = memfs_flags_check_open(node, flags);
    if (err < 0)
        goto out;
    node->open_count++;
    *file_ctx = node;
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}

static void op_close(fsp_fs_t *fs, void *file_ctx)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;

    memfs_write_lock(m);
    node->open_count--;
    if (node->open_count == 0)
        memfs_locks_last_close(m, node); /* F_OFD_ locks left */
    memfs_node_release(m, node); /* the last open of an unlinked file */
    memfs_unlock(m);
}

/* ------------------------------------------------------------------ */
/* Data                                                                */
/* ------------------------------------------------------------------ */

/* Data callbacks apply to regular files only. */
int memfs_check_regular(const struct memfs_node *node)
{
    if (S_ISREG(node->mode))
        return 0;
    return S_ISDIR(node->mode) ? -EISDIR : -EINVAL;
}

/*
 * Change a regular file's size. Growing allocates nothing: the new range
 * is a hole and reads as zeros. Shrinking zeroes and frees everything
 * beyond the new end (space preallocated past the old end included), so
 * that a later growth cannot uncover old bytes: memfs_data.h's rule.
 */
static int resize_file(struct memfs *m, struct memfs_node *node,
                       uint64_t new_size)
{
    uint64_t pages_before = node->data.page_count;

    if (new_size > m->options.max_file_size)
        return -EFBIG;
    if (new_size < node->size) {
        memfs_data_zero(&node->data, new_size, UINT64_MAX);
        memfs_account_pages(m, node, pages_before);
    }
    node->size = new_size;
    return 0;
}

static int op_overwrite(fsp_fs_t *fs, void *file_ctx)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    int err;

    memfs_write_lock(m);
    err = memfs_check_regular(node);
    if (err == 0)
        err = memfs_flags_check(node, MEMFS_CHANGE_SIZE);
    if (err < 0)
        goto out;
    err = resize_file(m, node, 0);
    if (err < 0)
        goto out;
    memfs_node_touch_modified(node);
out:
    memfs_unlock(m);
    return err;
}

/* Under the shared lock, after an access to @node: is its access time
 * to be updated? Not for a file marked so (chattr +A); otherwise as the
 * volume's policy says (fsp_fs_atime_due()). */
static bool access_time_due(fsp_fs_t *fs, const struct memfs_node *node)
{
    if (node->attr_flags & FS_NOATIME_FL)
        return false;
    return fsp_fs_atime_due(fs, S_ISDIR(node->mode), node->atime,
                            node->mtime, node->ctime, memfs_now());
}

/* With no lock held: sets @node's access time to now. The file context
 * the caller holds keeps the node alive. A read does not change ctime. */
static void update_access_time(struct memfs *m, struct memfs_node *node)
{
    memfs_write_lock(m);
    node->atime = memfs_now();
    memfs_unlock(m);
}

static int read_now(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                    size_t length, size_t *bytes_transferred)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    bool atime_due = false;
    int err;

    memfs_read_lock(m);
    err = memfs_check_regular(node);
    if (err < 0)
        goto out;
    atime_due = access_time_due(fs, node);
    if (offset >= node->size)
        goto out; /* at or past the end: 0 bytes */
    if (length > node->size - offset)
        length = node->size - offset;
    memfs_data_read(&node->data, buf, offset, length);
    *bytes_transferred = length;
out:
    memfs_unlock(m);
    if (atime_due)
        update_access_time(m, node);
    return err;
}

static int write_now(fsp_fs_t *fs, void *file_ctx, const void *buf,
                     uint64_t offset, size_t length, int flags,
                     size_t *bytes_transferred)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    uint64_t limit = m->options.max_file_size, pages_before;
    int err;

    memfs_write_lock(m);
    err = memfs_check_regular(node);
    if (err == 0)
        err = memfs_flags_check(node, (flags & FSP_WRITE_TO_END_OF_FILE)
                                          ? MEMFS_CHANGE_APPEND
                                          : MEMFS_CHANGE_DATA);
    if (err < 0)
        goto out;
    if (flags & FSP_WRITE_TO_END_OF_FILE)
        offset = node->size;
    if (length > 0) {
        /* Like write(2) at RLIMIT_FSIZE: write what fits below the limit,
         * fail with EFBIG only if nothing does. */
        if (offset >= limit) {
            err = -EFBIG;
            goto out;
        }
        if (length > limit - offset)
            length = limit - offset;
        err = memfs_check_room(
            m, memfs_data_missing_pages(&node->data, offset, length));
        if (err < 0)
            goto out;
        pages_before = node->data.page_count;
        err = memfs_data_write(&node->data, buf, offset, length);
        memfs_account_pages(m, node, pages_before);
        if (err < 0)
            goto out;
        /* A gap between the old end and offset is a hole: zeros. */
        if (offset + length > node->size)
            node->size = offset + length;
        memfs_node_touch_modified(node);
    }
    *bytes_transferred = length;
out:
    memfs_unlock(m);
    return err;
}

static int op_flush(fsp_fs_t *fs, void *file_ctx)
{
    /* Memory is as durable as memfs gets: nothing to write back. */
    (void)fs;
    (void)file_ctx;
    return 0;
}

static int op_set_file_size(fsp_fs_t *fs, void *file_ctx, uint64_t new_size,
                            fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    int err;

    memfs_write_lock(m);
    err = memfs_check_regular(node);
    if (err == 0)
        err = memfs_flags_check(node, MEMFS_CHANGE_SIZE);
    if (err < 0)
        goto out;
    err = resize_file(m, node, new_size);
    if (err < 0)
        goto out;
    memfs_node_touch_modified(node); /* even if the size did not change,
                                        as truncate(2) does */
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}

/* fallocate modes 0 and KEEP_SIZE (and the second half of ZERO_RANGE):
 * make sure every page of the range exists, so that later writes there
 * cannot fail for lack of space. */
static int preallocate(struct memfs *m, struct memfs_node *node,
                       uint64_t offset, uint64_t length, bool keep_size)
{
    uint64_t limit = m->options.max_file_size, pages_before;
    int err;

    if (length > limit || offset > limit - length)
        return -EFBIG;
    err = memfs_check_room(
        m, memfs_data_missing_pages(&node->data, offset, length));
    if (err < 0)
        return err;
    pages_before = node->data.page_count;
    err = memfs_data_allocate(&node->data, offset, length);
    memfs_account_pages(m, node, pages_before);
    if (err < 0)
        return err;
    if (!keep_size && offset + length > node->size) {
        node->size = offset + length;
        memfs_node_touch_modified(node);
    }
    return 0;
}

/* fallocate PUNCH_HOLE | KEEP_SIZE: the range reads as zeros afterwards
 * and its whole pages are given back. */
static void punch_hole(struct memfs *m, struct memfs_node *node,
                       uint64_t offset, uint64_t length)
{
    uint64_t pages_before = node->data.page_count;

    memfs_data_zero(&node->data, offset, length);
    memfs_account_pages(m, node, pages_before);
    memfs_node_touch_modified(node);
}

static int op_allocate(fsp_fs_t *fs, void *file_ctx, int mode,
                       uint64_t offset, uint64_t length)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    int err;

    memfs_write_lock(m);
    err = memfs_check_regular(node);
    if (err == 0)
        err = memfs_flags_check(node, MEMFS_CHANGE_SIZE);
    if (err < 0)
        goto out;
    if (length == 0) {
        err = -EINVAL; /* as fallocate(2) */
        goto out;
    }
    switch (mode) {
    case 0:
    case FALLOC_FL_KEEP_SIZE:
        err = preallocate(m, node, offset, length, mode & FALLOC_FL_KEEP_SIZE);
        break;
    case FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE:
        punch_hole(m, node, offset, length);
        break;
    case FALLOC_FL_ZERO_RANGE:
    case FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE:
        /* Zeros that are allocated: clear (whole pages go), then
         * allocate what is missing, growing the file unless KEEP_SIZE. */
        punch_hole(m, node, offset, length);
        err = preallocate(m, node, offset, length, mode & FALLOC_FL_KEEP_SIZE);
        break;
    default:
        err = -EOPNOTSUPP; /* collapse, insert, unshare: the kernel does
                              not pass them on anyway */
        break;
    }
out:
    memfs_unlock(m);
    return err;
}

/* ------------------------------------------------------------------ */
/* Attributes                                                          */
/* ------------------------------------------------------------------ */

static int op_get_file_info(fsp_fs_t *fs, void *file_ctx,
                            fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);

    memfs_read_lock(m);
    memfs_node_get_info(file_ctx, info);
    memfs_unlock(m);
    return 0;
}

/*
 * What a write or a chown by a non-owner costs a file: its set-user-ID bit,
 * and its set-group-ID bit unless that only marks mandatory locking (no
 * group execution) and the writer is in the file's group: fsp knows the
 * rule and the caller.
 */
static void kill_suid(struct memfs_node *node)
{
    node->mode = fsp_fs_mode_after_kill_suid(node->mode, node->gid);
}

static int op_set_basic_info(fsp_fs_t *fs, void *file_ctx, uint32_t valid,
                             const fsp_file_info_t *new_info,
                             fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    struct timespec now = memfs_now();
    int err;

    memfs_write_lock(m);
    err = memfs_flags_check(node,
                            (valid & ~(uint32_t)(FSP_SET_ATIME_NOW |
                                                 FSP_SET_MTIME_NOW |
                                                 FSP_SET_KILL_SUID |
                                                 FSP_SET_CTIME))
                                ? MEMFS_CHANGE_ATTR
                                : MEMFS_CHANGE_TIMES_NOW);
    if (err < 0 && valid != FSP_SET_KILL_SUID)
        goto out;
    err = 0;
    if (valid & FSP_SET_MODE)
        node->mode = (node->mode & S_IFMT) | (new_info->mode & 07777);
    if (valid & FSP_SET_UID)
        node->uid = new_info->uid;
    if (valid & FSP_SET_GID)
        node->gid = new_info->gid;
    if (valid & FSP_SET_KILL_SUID)
        kill_suid(node);
    if (valid & FSP_SET_ATIME)
        node->atime = new_info->atime;
    if (valid & FSP_SET_ATIME_NOW)
        node->atime = now;
    if (valid & FSP_SET_MTIME)
        node->mtime = new_info->mtime;
    if (valid & FSP_SET_MTIME_NOW)
        node->mtime = now;
    /* Every change of attributes is a status change, times included. */
    if (valid & FSP_SET_CTIME)
        node->ctime = new_info->ctime;
    else if (valid)
        node->ctime = now;
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}

/* ------------------------------------------------------------------ */
/* Names: unlink, rename, link                                         */
/* ------------------------------------------------------------------ */

static int op_unlink(fsp_fs_t *fs, void *file_ctx, const char *path)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *parent;
    struct memfs_dirent *entry;
    const char *name;
    size_t name_len;
    int err;

    /* The path says which name goes; file_ctx is the node behind it,
     * which keeps its reference (and so lives on) after the name is gone.
     * drop_name() finds the node through the entry, so file_ctx is not
     * needed here. */
    (void)file_ctx;
    memfs_write_lock(m);
    err = memfs_lookup_parent(m, path, &parent, &name, &name_len);
    if (err < 0)
        goto out;
    if (!parent) {
        err = -EBUSY; /* the root */
        goto out;
    }
    entry = memfs_dirmap_find(&parent->entries, name, name_len);
    if (!entry) {
        err = -ENOENT;
        goto out;
    }
    /* Immutable and append-only come first, as the kernel's may_delete()
     * checks them before a file system looks at the directory's entries. */
    err = memfs_flags_check(entry->node, MEMFS_CHANGE_NAME);
    if (err == 0)
        err = memfs_flags_check(parent, MEMFS_CHANGE_DIR_REMOVE);
    if (err == 0 && S_ISDIR(entry->node->mode) &&
        entry->node->entries.count > 0)
        err = -ENOTEMPTY;
    if (err < 0)
        goto out;
    drop_name(m, parent, entry);
out:
    memfs_unlock(m);
    return err;
}

/* Whether the file @p node may take the name of @p target (rename(2)). */
static int check_replace(const struct memfs_node *node,
                         const struct memfs_node *target)
{
    if (S_ISDIR(node->mode) && !S_ISDIR(target->mode))
        return -ENOTDIR;
    if (!S_ISDIR(node->mode) && S_ISDIR(target->mode))
        return -EISDIR;
    if (S_ISDIR(target->mode) && target->entries.count > 0)
        return -ENOTEMPTY;
    return 0;
}

/* The whiteout RENAME_WHITEOUT leaves behind: a character device 0:0,
 * which overlayfs reads as "deleted in this layer", under @p entry's name,
 * owned as the file that moved away. Not yet in a directory. */
static int new_whiteout(struct memfs *m, const struct memfs_dirent *entry,
                        struct memfs_dirent **out)
{
    struct memfs_node *node;
    int err;

    *out = NULL;
    err = memfs_node_new(m, S_IFCHR, &node);
    if (err < 0)
        return err;
    node->uid = entry->node->uid;
    node->gid = entry->node->gid;
    node->rdev = 0;
    *out = memfs_dirent_new(entry->name, entry->name_len, node);
    if (!*out) {
        memfs_node_destroy(m, node);
        return -ENOMEM;
    }
    return 0;
}

/* rename without EXCHANGE: @p entry (in @p dir) moves to the name
 * new_name in @p new_dir, replacing @p new_entry if there is one; with
 * FSP_RENAME_WHITEOUT a whiteout takes the old name. */
static int rename_move(struct memfs *m, struct memfs_node *dir,
                       struct memfs_dirent *entry, struct memfs_node *new_dir,
                       const char *new_name, size_t new_name_len,
                       struct memfs_dirent *new_entry, unsigned flags)
{
    struct memfs_node *node = entry->node;
    struct memfs_dirent *moved, *whiteout = NULL;
    bool noreplace = flags & FSP_RENAME_NOREPLACE;
    int err;

    /*
     * On a case-insensitive volume "foo" -> "FOO" finds the entry itself
     * as the target: that is a change of spelling, not a replacement
     * (WinFsp's rule). The same spelling again is the no-op below.
     */
    if (new_entry == entry && (new_name_len != entry->name_len ||
                               memcmp(new_name, entry->name, new_name_len)))
        new_entry = NULL;
    if (new_entry && noreplace)
        return -EEXIST;
    /* Two names of the same file (or the same name twice): POSIX says
     * rename does nothing and succeeds; both names stay. */
    if (new_entry && new_entry->node == node)
        return 0;
    /* A directory cannot move below itself: it would be cut off. */
    if (S_ISDIR(node->mode) && memfs_node_is_ancestor(node, new_dir))
        return -EINVAL;
    if (new_entry) {
        err = check_replace(node, new_entry->node);
        if (err < 0)
            return err;
    }
    /* The allocations come first: past them nothing can fail, so the
     * rename is all or nothing. */
    if (flags & FSP_RENAME_WHITEOUT) {
        err = new_whiteout(m, entry, &whiteout);
        if (err < 0)
            return err;
    }
    moved = memfs_dirent_new(new_name, new_name_len, node);
    if (!moved) {
        if (whiteout) {
            memfs_node_destroy(m, whiteout->node);
            free(whiteout);
        }
        return -ENOMEM;
    }

    if (new_entry)
        drop_name(m, new_dir, new_entry);
    memfs_dirmap_remove(&dir->entries, entry->name, entry->name_len);
    free(entry);
    memfs_dirmap_insert(&new_dir->entries, moved);
    if (whiteout)
        add_name(dir, whiteout);
    /* A directory's ".." follows it: the subdirectory link moves from the
     * old parent to the new one. */
    if (S_ISDIR(node->mode) && dir != new_dir) {
        dir->nlink--;
        new_dir->nlink++;
        node->parent = new_dir;
    }
    node->ctime = memfs_now();
    memfs_node_touch_modified(dir);
    memfs_node_touch_modified(new_dir);
    return 0;
}

/* The node behind a name now lives in directory @p dir: for a directory,
 * that is its ".." link, which moves from the old parent to @p dir. */
static void move_dotdot(struct memfs_node *node, struct memfs_node *dir)
{
    if (!S_ISDIR(node->mode) || node->parent == dir)
        return;
    node->parent->nlink--;
    dir->nlink++;
    node->parent = dir;
}

/* rename with EXCHANGE: the names @p a (in @p dir_a) and @p b (in dir_b)
 * swap the nodes they point to. */
static int rename_exchange(struct memfs_node *dir_a, struct memfs_dirent *a,
                           struct memfs_node *dir_b, struct memfs_dirent *b)
{
    struct memfs_node *node_a = a->node, *node_b;
    struct timespec now = memfs_now();

    if (!b)
        return -ENOENT; /* both names must exist */
    node_b = b->node;
    if (node_a == node_b)
        return 0;
    /* Neither directory may end up below itself. */
    if (S_ISDIR(node_a->mode) && memfs_node_is_ancestor(node_a, dir_b))
        return -EINVAL;
    if (S_ISDIR(node_b->mode) && memfs_node_is_ancestor(node_b, dir_a))
        return -EINVAL;

    a->node = node_b;
    b->node = node_a;
    /* When only one of the two is a directory and the parents differ,
     * one parent gains a subdirectory and the other loses one; when both
     * are, the two moves cancel out. */
    move_dotdot(node_a, dir_b);
    move_dotdot(node_b, dir_a);
    node_a->ctime = node_b->ctime = now;
    memfs_node_touch_modified(dir_a);
    memfs_node_touch_modified(dir_b);
    return 0;
}

static int op_rename(fsp_fs_t *fs, void *file_ctx, const char *path,
                     const char *new_path, unsigned flags)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *dir, *new_dir;
    struct memfs_dirent *entry, *new_entry;
    const char *name, *new_name;
    size_t name_len, new_name_len;
    int err;

    /* As in unlink, the paths name the entries; file_ctx (the node at
     * path) is not needed. */
    (void)file_ctx;
    if ((flags & ~(unsigned)(FSP_RENAME_NOREPLACE | FSP_RENAME_EXCHANGE |
                             FSP_RENAME_WHITEOUT)) ||
        ((flags & FSP_RENAME_EXCHANGE) &&
         (flags & (FSP_RENAME_NOREPLACE | FSP_RENAME_WHITEOUT))))
        return -EINVAL;

    memfs_write_lock(m);
    err = memfs_lookup_parent(m, path, &dir, &name, &name_len);
    if (err < 0)
        goto out;
    err = memfs_lookup_parent(m, new_path, &new_dir, &new_name, &new_name_len);
    if (err < 0)
        goto out;
    if (!dir || !new_dir) {
        err = -EBUSY; /* the root cannot move, nor be replaced */
        goto out;
    }
    entry = memfs_dirmap_find(&dir->entries, name, name_len);
    if (!entry) {
        err = -ENOENT;
        goto out;
    }
    new_entry = memfs_dirmap_find(&new_dir->entries, new_name, new_name_len);
    err = memfs_flags_check(entry->node, MEMFS_CHANGE_NAME);
    if (err == 0 && new_entry)
        err = memfs_flags_check(new_entry->node, MEMFS_CHANGE_NAME);
    if (err == 0)
        err = memfs_flags_check(dir, MEMFS_CHANGE_DIR_REMOVE);
    if (err == 0)
        err = memfs_flags_check(new_dir, new_entry ? MEMFS_CHANGE_DIR_REMOVE
                                                   : MEMFS_CHANGE_DIR_ADD);
    if (err < 0)
        goto out;
    if (flags & FSP_RENAME_EXCHANGE)
        err = rename_exchange(dir, entry, new_dir, new_entry);
    else
        err = rename_move(m, dir, entry, new_dir, new_name, new_name_len,
                          new_entry, flags);
out:
    memfs_unlock(m);
    return err;
}

static int op_link(fsp_fs_t *fs, void *file_ctx, const char *new_path,
                   fsp_file_info_t *info)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx, *parent;
    struct memfs_dirent *entry;
    const char *name;
    size_t name_len;
    int err;

    memfs_write_lock(m);
    if (S_ISDIR(node->mode)) {
        err = -EPERM; /* hard links to directories would make loops */
        goto out;
    }
    if (node->nlink == 0 && !node->linkable) {
        err = -ENOENT; /* unlinked while open: Linux does not revive it */
        goto out;
    }
    node->linkable = false; /* an O_TMPFILE file gets one first name */
    if (node->nlink == UINT32_MAX) {
        err = -EMLINK;
        goto out;
    }
    err = memfs_lookup_parent(m, new_path, &parent, &name, &name_len);
    if (err < 0)
        goto out;
    if (!parent || memfs_dirmap_find(&parent->entries, name, name_len)) {
        err = -EEXIST;
        goto out;
    }
    err = memfs_flags_check(node, MEMFS_CHANGE_NAME);
    if (err == 0)
        err = memfs_flags_check(parent, MEMFS_CHANGE_DIR_ADD);
    if (err < 0)
        goto out;
    entry = memfs_dirent_new(name, name_len, node);
    if (!entry) {
        err = -ENOMEM;
        goto out;
    }
    add_name(parent, entry);
    node->ctime = memfs_now();
    memfs_node_get_info(node, info);
out:
    memfs_unlock(m);
    return err;
}

/* ------------------------------------------------------------------ */
/* Directories and links                                               */
/* ------------------------------------------------------------------ */

static int read_directory_now(fsp_fs_t *fs, void *file_ctx,
                              const char *marker, fsp_dir_buffer_t *buf)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *dir = file_ctx;
    struct memfs_dirent *entry;
    bool atime_due = false;
    int err = 0;

    memfs_read_lock(m);
    if (!S_ISDIR(dir->mode)) {
        err = -ENOTDIR;
        goto out;
    }
    atime_due = access_time_due(fs, dir);
    /*
     * Resume at the first name greater than the marker. The marker need
     * not exist any more: if it was unlinked since the last call, the
     * listing still continues exactly where it stopped, with no entry
     * repeated or skipped. Each step is one O(log n) search; "." and ".."
     * are fsp's to add.
     */
    entry = memfs_dirmap_first_after(&dir->entries, marker,
                                     marker ? strlen(marker) : 0);
    for (; entry; entry = memfs_dirmap_first_after(&dir->entries, entry->name,
                                                   entry->name_len)) {
        fsp_file_info_t info = {0};

        memfs_node_get_info(entry->node, &info);
        if (!fsp_dir_buffer_add(buf, entry->name, &info))
            break; /* full: fsp calls again with the last name it took */
    }
out:
    memfs_unlock(m);
    if (atime_due)
        update_access_time(m, dir);
    return err;
}

/* ------------------------------------------------------------------ */
/* Data and listings, now or later (slowio)                            */
/* ------------------------------------------------------------------ */

static const struct memfs_slowio_ops slowio_ops = {
    .read = read_now,
    .write = write_now,
    .read_directory = read_directory_now,
};

static int op_read(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                   size_t length, size_t *bytes_transferred)
{
    struct memfs *m = memfs_of(fs);

    if (m->slowio)
        return memfs_slowio_read(m->slowio, fs, file_ctx, buf, offset,
                                 length, bytes_transferred);
    return read_now(fs, file_ctx, buf, offset, length, bytes_transferred);
}

static int op_write(fsp_fs_t *fs, void *file_ctx, const void *buf,
                    uint64_t offset, size_t length, int flags,
                    size_t *bytes_transferred)
{
    struct memfs *m = memfs_of(fs);

    if (m->slowio)
        return memfs_slowio_write(m->slowio, fs, file_ctx, buf, offset,
                                  length, flags, bytes_transferred);
    return write_now(fs, file_ctx, buf, offset, length, flags,
                     bytes_transferred);
}

static int op_read_directory(fsp_fs_t *fs, void *file_ctx, const char *marker,
                             fsp_dir_buffer_t *buf)
{
    struct memfs *m = memfs_of(fs);

    if (m->slowio)
        return memfs_slowio_read_directory(m->slowio, fs, file_ctx, marker,
                                           buf);
    return read_directory_now(fs, file_ctx, marker, buf);
}

static int op_get_reparse_point(fsp_fs_t *fs, void *file_ctx, char *buf,
                                size_t size)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    size_t len;
    int err = 0;

    memfs_read_lock(m);
    if (!S_ISLNK(node->mode)) {
        err = -EINVAL;
        goto out;
    }
    /* fsp.h's choice: a target that does not fit is -ENAMETOOLONG (not
     * -ERANGE); readlink(2) truncates, but the kernel asks with a buffer
     * of PATH_MAX and targets are at most MEMFS_LINK_TARGET_MAX bytes. */
    len = strlen(node->link_target);
    if (len >= size) {
        err = -ENAMETOOLONG;
        goto out;
    }
    memcpy(buf, node->link_target, len + 1);
out:
    memfs_unlock(m);
    return err;
}

/* ------------------------------------------------------------------ */
/* The volume object                                                   */
/* ------------------------------------------------------------------ */

static const fsp_fs_interface_t memfs_interface = {
    .get_volume_info = op_get_volume_info,
    .get_file_info_by_name = op_get_file_info_by_name,
    .create = op_create,
    .open = op_open,
    .overwrite = op_overwrite,
    /* cleanup (the last close of an open) is left unset on purpose: on
     * Windows, WinFsp's memfs deletes files there (delete-on-close); on
     * Linux, unlink removes the name at once and close() frees what is
     * left, so there is nothing to do, and an unset cleanup spares fsp
     * building the file's path at every close. */
    .cleanup = NULL,
    .close = op_close,
    .read = op_read,
    .write = op_write,
    .flush = op_flush,
    .get_file_info = op_get_file_info,
    .set_basic_info = op_set_basic_info,
    .set_file_size = op_set_file_size,
    .allocate = op_allocate,
    .unlink = op_unlink,
    .rename = op_rename,
    .link = op_link,
    .read_directory = op_read_directory,
    .get_reparse_point = op_get_reparse_point,
    .get_xattr = memfs_op_get_xattr, /* memfs_xattr.c */
    .set_xattr = memfs_op_set_xattr,
    .list_xattr = memfs_op_list_xattr,
    .remove_xattr = memfs_op_remove_xattr,
    .dispatcher_stopped = op_dispatcher_stopped,
    /* lseek, copy_file_range and O_TMPFILE (memfs_seek.c, memfs_copy.c,
     * memfs_tmpfile.c) */
    .seek = memfs_op_seek,                   /* memfs_seek.c */
    .copy_file_range = memfs_op_copy_file_range, /* memfs_copy.c */
    .create_tmpfile = memfs_op_create_tmpfile, /* memfs_tmpfile.c */
    /* locks (memfs_locks.c, unless kernel_locks), chattr flags and poll
     * (memfs_ioctl.c) */
    .get_lock = memfs_op_get_lock,
    .set_lock = memfs_op_set_lock,
    .flock = memfs_op_flock,
    .ioctl = memfs_op_ioctl,
    .poll = memfs_op_poll,
};

void memfs_options_init(struct memfs_options *options)
{
    long pages = sysconf(_SC_PHYS_PAGES), page_size = sysconf(_SC_PAGESIZE);

    memset(options, 0, sizeof *options);
    options->max_nodes = MEMFS_DEFAULT_MAX_NODES;
    options->max_file_size = MEMFS_DEFAULT_MAX_FILE_SIZE;
    /* Like tmpfs: half of the physical memory (1 GiB if unknown). */
    if (pages > 0 && page_size > 0)
        options->total_size = (uint64_t)pages * (uint64_t)page_size / 2;
    else
        options->total_size = UINT64_C(1) << 30;
    options->root_mode = 0755;
    options->root_uid = getuid();
    options->root_gid = getgid();
}

/* The volume's lock. Writers are preferred: with glibc's default a steady
 * stream of readers (lookups, reads) could keep a writer out forever. */
static int init_lock(pthread_rwlock_t *lock)
{
    pthread_rwlockattr_t attr;
    int err;

    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(
        &attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    err = pthread_rwlock_init(lock, &attr);
    pthread_rwlockattr_destroy(&attr);
    return -err;
}

int memfs_create(const struct memfs_options *options,
                 fsp_fs_interface_t *interface, struct memfs **pmemfs)
{
    struct memfs_options defaults;
    struct memfs_node *root;
    struct memfs *m;
    int err;

    if (!options) {
        memfs_options_init(&defaults);
        options = &defaults;
    }
    if (options->max_nodes == 0 ||
        options->max_file_size > MEMFS_DATA_MAX_SIZE)
        return -EINVAL;
    m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->options = *options;
    m->next_index_number = 1; /* the root gets 1, like FUSE's root node */
    err = init_lock(&m->lock);
    if (err < 0) {
        free(m);
        return err;
    }
    err = memfs_node_new(m, S_IFDIR | (options->root_mode & 07777), &root);
    if (err < 0) {
        pthread_rwlock_destroy(&m->lock);
        free(m);
        return err;
    }
    root->uid = options->root_uid;
    root->gid = options->root_gid;
    root->nlink = 2; /* "/" has no name, but its "." and ".." count */
    m->root = root;
    if (options->slowio_percent > 0) {
        err = memfs_slowio_create(options->slowio_percent,
                                  options->slowio_min_delay_ms,
                                  options->slowio_max_delay_ms, &slowio_ops,
                                  &m->slowio);
        if (err < 0) {
            memfs_delete(m);
            return err;
        }
    }

    if (!options->kernel_locks) {
        err = memfs_locks_create(m);
        if (err < 0) {
            memfs_delete(m);
            return err;
        }
    }
    *interface = memfs_interface;
    if (options->kernel_locks) {
        interface->get_lock = NULL;
        interface->set_lock = NULL;
        interface->flock = NULL;
    }
    if (m->slowio && options->slowio_all)
        memfs_slowio_wrap_all(interface, &m->base_interface);
    *pmemfs = m;
    return 0;
}

void memfs_delete(struct memfs *m)
{
    if (!m)
        return;
    memfs_slowio_delete(m->slowio);
    while (m->all_nodes)
        memfs_node_destroy(m, m->all_nodes);
    memfs_locks_delete(m);
    pthread_rwlock_destroy(&m->lock);
    free(m);
}
