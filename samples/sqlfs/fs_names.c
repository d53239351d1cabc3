/**
 * @file fs_names.c
 * Names: unlink (and rmdir), rename with its flags, link. Each is one
 * transaction, so that a crash never leaves half a rename.
 *
 * A directory's link count is 2 + its subdirectories (each one's ".."),
 * and its size the number of its entries; every change of a name keeps
 * both in step (sqlfs --check verifies them).
 */
#include "sqlfs_internal.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <sys/stat.h>

/* An entry_list() visitor that notes there is an entry and stops. */
static bool stop_at_first(void *context, const char *name,
                          const struct sqlfs_inode *in)
{
    (void)name;
    (void)in;
    *(bool *)context = false;
    return false;
}

/* 0 if directory @p dir has no entry, else -ENOTEMPTY. */
static int check_empty(struct sqlfs *s, struct sqlfs_txn *t, uint64_t dir)
{
    bool empty = true;
    int err = s->db->entry_list(t, dir, NULL, stop_at_first, &empty);

    if (err < 0)
        return err;
    return empty ? 0 : -ENOTEMPTY;
}

/* A name of @p child was added to (+1) or taken from (-1) @p dir. */
static void count_entry(struct sqlfs_inode *dir,
                        const struct sqlfs_inode *child, int delta,
                        struct timespec now)
{
    dir->size += (uint64_t)(int64_t)delta;
    if (S_ISDIR(child->mode))
        dir->nlink += (uint32_t)delta;
    dir->mtime = dir->ctime = now;
}

int sqlfs_op_unlink(fsp_fs_t *fs, void *file_ctx, const char *path)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_inode dir, in;
    struct sqlfs_txn *t;
    uint64_t parent, ino;
    const char *name;
    int err;

    /* The path says which name goes; the context is the file behind it. */
    (void)file_ctx;
    err = sqlfs_begin(s, true, &t);
    if (err < 0)
        return err;
    err = sqlfs_resolve_parent(s, t, path, &parent, &name);
    if (err < 0)
        goto out;
    if (!name) {
        err = -EBUSY; /* the root */
        goto out;
    }
    err = s->db->entry_find(t, parent, name, &ino);
    if (err == 0)
        err = s->db->inode_get(t, ino, &in);
    if (err == 0 && S_ISDIR(in.mode))
        err = check_empty(s, t, ino);
    if (err == 0)
        err = s->db->inode_get(t, parent, &dir);
    if (err == 0)
        err = s->db->entry_delete(t, parent, name);
    if (err < 0)
        goto out;
    count_entry(&dir, &in, -1, sqlfs_now());
    err = s->db->inode_update(t, &dir);
    if (err == 0)
        err = sqlfs_drop_link(s, t, &in);
out:
    return sqlfs_end(s, t, err);
}

/* Whether directory @p ancestor is @p dir or above it. */
static int is_ancestor(struct sqlfs *s, struct sqlfs_txn *t,
                       uint64_t ancestor, uint64_t dir, bool *result)
{
    int err = 0;

    *result = false;
    while (dir != SQLFS_ROOT_INO && err == 0) {
        if (dir == ancestor) {
            *result = true;
            return 0;
        }
        err = s->db->entry_parent(t, dir, &dir);
    }
    *result = dir == ancestor;
    return err;
}

/* -EINVAL if directory @p in would end up inside itself in @p new_dir. */
static int check_not_below_itself(struct sqlfs *s, struct sqlfs_txn *t,
                                  const struct sqlfs_inode *in,
                                  uint64_t new_dir)
{
    bool below;
    int err;

    if (!S_ISDIR(in->mode))
        return 0;
    err = is_ancestor(s, t, in->ino, new_dir, &below);
    if (err < 0)
        return err;
    return below ? -EINVAL : 0;
}

/* Whether @p in may take the name of @p target (rename(2)). */
static int check_replace(struct sqlfs *s, struct sqlfs_txn *t,
                         const struct sqlfs_inode *in,
                         const struct sqlfs_inode *target)
{
    if (S_ISDIR(in->mode) && !S_ISDIR(target->mode))
        return -ENOTDIR;
    if (!S_ISDIR(in->mode) && S_ISDIR(target->mode))
        return -EISDIR;
    if (S_ISDIR(target->mode))
        return check_empty(s, t, target->ino);
    return 0;
}

/* What one rename works on: the two directories (one struct when they are
 * the same) and the two names with their inodes. */
struct rename_op {
    struct sqlfs_inode dir_buf, new_dir_buf;
    struct sqlfs_inode *dir, *new_dir;
    const char *name, *new_name;
    struct sqlfs_inode in, target;
    bool has_target;
};

/* The whiteout RENAME_WHITEOUT leaves at the old name: a character
 * device 0:0, which overlayfs reads as "deleted in this layer", owned as
 * the file that moved away. */
static int leave_whiteout(struct sqlfs *s, struct sqlfs_txn *t,
                          struct rename_op *r, struct timespec now)
{
    struct sqlfs_inode w;
    int err;

    memset(&w, 0, sizeof w);
    w.mode = S_IFCHR;
    w.uid = r->in.uid;
    w.gid = r->in.gid;
    w.nlink = 1;
    w.atime = w.mtime = w.ctime = w.btime = now;
    err = s->db->inode_insert(t, &w, NULL);
    if (err == 0)
        err = s->db->entry_insert(t, r->dir->ino, r->name, w.ino);
    if (err == 0)
        count_entry(r->dir, &w, +1, now);
    return err;
}

/* rename without EXCHANGE: the entry moves, replacing the target; with
 * FSP_RENAME_WHITEOUT a whiteout takes the old name. */
static int rename_move(struct sqlfs *s, struct sqlfs_txn *t,
                       struct rename_op *r, unsigned flags)
{
    bool noreplace = flags & FSP_RENAME_NOREPLACE;
    struct timespec now = sqlfs_now();
    int err;

    if (r->has_target && noreplace)
        return -EEXIST;
    /* Two names of one file (or one name twice): nothing happens, but
     * for a new spelling of the same name on a case-insensitive volume
     * (memfs's rule), which replaces the old one. */
    if (r->has_target && r->target.ino == r->in.ino) {
        if (!s->case_insensitive || r->dir != r->new_dir ||
            strcmp(r->name, r->new_name) == 0)
            return 0;
        r->has_target = false;
    }
    err = check_not_below_itself(s, t, &r->in, r->new_dir->ino);
    if (err < 0)
        return err;
    if (r->has_target) {
        err = check_replace(s, t, &r->in, &r->target);
        if (err == 0)
            err = s->db->entry_delete(t, r->new_dir->ino, r->new_name);
        if (err == 0)
            err = sqlfs_drop_link(s, t, &r->target);
        if (err < 0)
            return err;
        count_entry(r->new_dir, &r->target, -1, now);
    }
    err = s->db->entry_delete(t, r->dir->ino, r->name);
    if (err == 0)
        err = s->db->entry_insert(t, r->new_dir->ino, r->new_name, r->in.ino);
    if (err < 0)
        return err;
    count_entry(r->dir, &r->in, -1, now);
    count_entry(r->new_dir, &r->in, +1, now);
    if (flags & FSP_RENAME_WHITEOUT) {
        err = leave_whiteout(s, t, r, now);
        if (err < 0)
            return err;
    }
    r->in.ctime = now;
    return s->db->inode_update(t, &r->in);
}

/* rename with EXCHANGE: the two names swap their inodes. */
static int rename_exchange(struct sqlfs *s, struct sqlfs_txn *t,
                           struct rename_op *r)
{
    struct timespec now = sqlfs_now();
    int err;

    if (!r->has_target)
        return -ENOENT;
    if (r->target.ino == r->in.ino)
        return 0;
    err = check_not_below_itself(s, t, &r->in, r->new_dir->ino);
    if (err == 0)
        err = check_not_below_itself(s, t, &r->target, r->dir->ino);
    if (err == 0)
        err = s->db->entry_retarget(t, r->dir->ino, r->name, r->target.ino);
    if (err == 0)
        err = s->db->entry_retarget(t, r->new_dir->ino, r->new_name,
                                    r->in.ino);
    if (err < 0)
        return err;
    /* The entries stay where they are; each side's ".." moves. */
    count_entry(r->dir, &r->in, -1, now);
    count_entry(r->new_dir, &r->in, +1, now);
    count_entry(r->new_dir, &r->target, -1, now);
    count_entry(r->dir, &r->target, +1, now);
    r->in.ctime = r->target.ctime = now;
    err = s->db->inode_update(t, &r->in);
    return err < 0 ? err : s->db->inode_update(t, &r->target);
}

/* Find the two directories and the two names of a rename. */
static int load_rename(struct sqlfs *s, struct sqlfs_txn *t, const char *path,
                       const char *new_path, struct rename_op *r)
{
    uint64_t dir, new_dir, ino, target;
    int err;

    err = sqlfs_resolve_parent(s, t, path, &dir, &r->name);
    if (err == 0)
        err = sqlfs_resolve_parent(s, t, new_path, &new_dir, &r->new_name);
    if (err < 0)
        return err;
    if (!r->name || !r->new_name)
        return -EBUSY; /* the root cannot move nor be replaced */
    err = s->db->inode_get(t, dir, &r->dir_buf);
    if (err < 0)
        return err;
    r->dir = &r->dir_buf;
    r->new_dir = r->dir;
    if (new_dir != dir) {
        err = s->db->inode_get(t, new_dir, &r->new_dir_buf);
        if (err < 0)
            return err;
        r->new_dir = &r->new_dir_buf;
    }
    err = s->db->entry_find(t, dir, r->name, &ino);
    if (err == 0)
        err = s->db->inode_get(t, ino, &r->in);
    if (err < 0)
        return err;
    err = s->db->entry_find(t, new_dir, r->new_name, &target);
    if (err == -ENOENT)
        return 0;
    if (err == 0)
        err = s->db->inode_get(t, target, &r->target);
    r->has_target = err == 0;
    return err;
}

int sqlfs_op_rename(fsp_fs_t *fs, void *file_ctx, const char *path,
                    const char *new_path, unsigned flags)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct rename_op r;
    struct sqlfs_txn *t;
    int err;

    (void)file_ctx;
    if ((flags & ~(unsigned)(FSP_RENAME_NOREPLACE | FSP_RENAME_EXCHANGE |
                             FSP_RENAME_WHITEOUT)) ||
        ((flags & FSP_RENAME_EXCHANGE) &&
         (flags & (FSP_RENAME_NOREPLACE | FSP_RENAME_WHITEOUT))))
        return -EINVAL;
    memset(&r, 0, sizeof r);
    err = sqlfs_begin(s, true, &t);
    if (err < 0)
        return err;
    err = load_rename(s, t, path, new_path, &r);
    if (err < 0)
        goto out;
    if (flags & FSP_RENAME_EXCHANGE)
        err = rename_exchange(s, t, &r);
    else
        err = rename_move(s, t, &r, flags);
    if (err < 0)
        goto out;
    err = s->db->inode_update(t, r.dir);
    if (err == 0 && r.new_dir != r.dir)
        err = s->db->inode_update(t, r.new_dir);
out:
    return sqlfs_end(s, t, err);
}

int sqlfs_op_link(fsp_fs_t *fs, void *file_ctx, const char *new_path,
                  fsp_file_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct sqlfs_inode in, dir;
    struct sqlfs_txn *t;
    uint64_t parent, existing;
    const char *name;
    int err;

    if (S_ISDIR(node->mode))
        return -EPERM; /* hard links to directories would make loops */
    err = sqlfs_begin_on(s, node->ino, true, &t, &in);
    if (err < 0)
        return err;
    if (in.nlink == 0) {
        err = -ENOENT; /* unlinked while open: Linux does not revive it */
        goto out;
    }
    if (in.nlink == UINT32_MAX) {
        err = -EMLINK;
        goto out;
    }
    err = sqlfs_resolve_parent(s, t, new_path, &parent, &name);
    if (err == 0 && !name)
        err = -EEXIST;
    if (err == 0) {
        err = s->db->entry_find(t, parent, name, &existing);
        err = err == 0 ? -EEXIST : err == -ENOENT ? 0 : err;
    }
    if (err == 0)
        err = s->db->inode_get(t, parent, &dir);
    if (err == 0)
        err = s->db->entry_insert(t, parent, name, in.ino);
    if (err < 0)
        goto out;
    in.nlink++;
    in.ctime = sqlfs_now();
    count_entry(&dir, &in, +1, in.ctime);
    err = s->db->inode_update(t, &dir);
    if (err == 0)
        err = s->db->inode_update(t, &in);
    if (err == 0)
        err = sqlfs_info(s, t, &in, info);
out:
    return sqlfs_end(s, t, err);
}
