/**
 * @file fs_ops.c
 * The callbacks of sqlfs that open, create, describe and list files, the
 * interface table, and the life of the volume object. Data is in
 * fs_data.c, names in fs_names.c, extended attributes in fs_xattr.c.
 *
 * Every callback is one transaction: sqlfs_begin(), the rows it reads and
 * writes, sqlfs_end(), which commits on success and rolls back on any
 * error, so that a request either happens whole or not at all.
 *
 * The file context is the inode's struct sqlfs_node, shared by every open
 * of it (the volume runs per_file_context by default: one context per
 * file, opened when the kernel first needs it, closed when it forgets
 * it). Like memfs, sqlfs leaves permission checks to the kernel
 * (default_permissions) and does not update atime on reads.
 */
#define _GNU_SOURCE

#include "sqlfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- volume ---- */

static int op_get_volume_info(fsp_fs_t *fs, fsp_volume_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_usage usage;
    struct sqlfs_txn *t;
    int err;

    err = sqlfs_begin(s, false, &t);
    if (err < 0)
        return err;
    err = s->db->usage(t, &usage);
    err = sqlfs_end(s, t, err);
    if (err < 0)
        return err;
    info->total_size = usage.total_bytes;
    info->free_size = usage.free_bytes;
    /* An inode is a row: as many more as there are free pages. */
    info->free_files = usage.free_bytes / 4096;
    info->total_files = usage.inodes + info->free_files;
    info->block_size = 4096;
    info->max_name_length = SQLFS_NAME_MAX;
    strcpy(info->label, "sqlfs");
    return 0;
}

/* ---- lookup, create, open, close ---- */

static int op_get_file_info_by_name(fsp_fs_t *fs, const char *path,
                                    fsp_file_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    err = sqlfs_begin(s, false, &t);
    if (err < 0)
        return err;
    err = sqlfs_lookup(s, t, path, &in);
    if (err == 0)
        err = sqlfs_info(s, t, &in, info);
    return sqlfs_end(s, t, err);
}

/* The new inode of create(): type checks, owner, times, and the group
 * rule of set-group-ID directories (as memfs). */
static int make_inode(const struct sqlfs_inode *parent,
                      const fsp_create_info_t *ci, struct sqlfs_inode *in)
{
    uint32_t mode = ci->mode;

    memset(in, 0, sizeof *in);
    if ((mode & S_IFMT) == 0)
        mode |= S_IFREG; /* mknod(2) without a type */
    switch (mode & S_IFMT) {
    case S_IFREG:
    case S_IFDIR:
    case S_IFIFO:
    case S_IFSOCK:
        break;
    case S_IFCHR:
    case S_IFBLK:
        in->rdev = ci->rdev;
        break;
    case S_IFLNK:
        if (!ci->link_target)
            return -EINVAL;
        in->size = strlen(ci->link_target);
        if (in->size > SQLFS_LINK_MAX)
            return -ENAMETOOLONG;
        break;
    default:
        return -EINVAL;
    }
    in->gid = ci->gid;
    if (parent->mode & S_ISGID) {
        in->gid = parent->gid;
        if (S_ISDIR(mode))
            mode |= S_ISGID;
    }
    in->mode = mode;
    in->uid = ci->uid;
    in->nlink = S_ISDIR(mode) ? 2 : 1;
    in->atime = in->mtime = in->ctime = in->btime = sqlfs_now();
    return 0;
}

static int op_create(fsp_fs_t *fs, const char *path,
                     const fsp_create_info_t *ci, void **file_ctx,
                     fsp_file_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_inode parent, in;
    struct sqlfs_node *node = NULL;
    struct sqlfs_txn *t;
    uint64_t parent_ino, existing;
    const char *name;
    int err;

    err = sqlfs_begin(s, true, &t);
    if (err < 0)
        return err;
    err = sqlfs_resolve_parent(s, t, path, &parent_ino, &name);
    if (err < 0)
        goto out;
    if (!name) {
        err = -EEXIST; /* "/" */
        goto out;
    }
    err = s->db->entry_find(t, parent_ino, name, &existing);
    if (err != -ENOENT) {
        err = err < 0 ? err : -EEXIST;
        goto out;
    }
    err = s->db->inode_get(t, parent_ino, &parent);
    if (err < 0)
        goto out;
    if (!S_ISDIR(parent.mode)) {
        err = -ENOTDIR;
        goto out;
    }
    err = make_inode(&parent, ci, &in);
    if (err < 0)
        goto out;
    err = s->db->inode_insert(t, &in, S_ISLNK(in.mode) ? ci->link_target
                                                       : NULL);
    if (err < 0)
        goto out;
    err = s->db->entry_insert(t, parent_ino, name, in.ino);
    if (err < 0)
        goto out;
    parent.size++;
    if (S_ISDIR(in.mode))
        parent.nlink++;
    parent.mtime = parent.ctime = in.ctime;
    err = s->db->inode_update(t, &parent);
    if (err < 0)
        goto out;
    err = sqlfs_info(s, t, &in, info);
    if (err < 0)
        goto out;
    node = sqlfs_node_get(s, in.ino, in.mode);
    if (!node)
        err = -ENOMEM;
out:
    err = sqlfs_end(s, t, err);
    if (err < 0 && node) {
        sqlfs_node_put(s, node);
        node = NULL;
    }
    *file_ctx = node;
    return err;
}

/* What open(2) refuses for a type of file (as memfs). */
static int check_open_flags(uint32_t mode, int flags)
{
    if ((flags & O_DIRECTORY) && !S_ISDIR(mode))
        return -ENOTDIR;
    if (flags & FSP_OPEN_META)
        return 0;
    if (S_ISLNK(mode))
        return -ELOOP;
    if (S_ISDIR(mode) && (flags & O_ACCMODE) != O_RDONLY)
        return -EISDIR;
    return 0;
}

static int op_open(fsp_fs_t *fs, const char *path, int flags, void **file_ctx,
                   fsp_file_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = NULL;
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    err = sqlfs_begin(s, false, &t);
    if (err < 0)
        return err;
    err = sqlfs_lookup(s, t, path, &in);
    if (err == 0)
        err = check_open_flags(in.mode, flags);
    if (err == 0)
        err = sqlfs_info(s, t, &in, info);
    if (err == 0) {
        /* Inside the transaction: an unlink cannot come in between. */
        node = sqlfs_node_get(s, in.ino, in.mode);
        if (!node)
            err = -ENOMEM;
    }
    err = sqlfs_end(s, t, err);
    if (err < 0 && node) {
        sqlfs_node_put(s, node);
        node = NULL;
    }
    *file_ctx = node;
    return err;
}

/* Delete an orphan whose last open is gone. */
static void delete_orphan(struct sqlfs *s, uint64_t ino)
{
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    err = sqlfs_begin(s, true, &t);
    if (err < 0)
        return; /* stays on the orphan list: the next mount frees it */
    err = s->db->inode_get(t, ino, &in);
    if (err == 0 && in.nlink == 0)
        err = s->db->inode_delete(t, ino);
    sqlfs_end(s, t, err == -ENOENT ? 0 : err);
}

/* Closes between two malloc_trim() calls. */
#define CLOSES_PER_TRIM 4096

static void op_close(fsp_fs_t *fs, void *file_ctx)
{
    static atomic_uint closes;
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    uint64_t ino = node->ino;

    if (sqlfs_node_put(s, node))
        delete_orphan(s, ino);
    /* A close is where a burst of work ends (the kernel forgets what a
     * copy or an rm -rf touched): hand the memory its requests used back
     * to the system, from every thread's malloc arena, so that the
     * daemon's resident size follows what it holds. Amortized. */
    if (atomic_fetch_add(&closes, 1) % CLOSES_PER_TRIM == CLOSES_PER_TRIM - 1)
        malloc_trim(0);
}

static int op_flush(fsp_fs_t *fs, void *file_ctx)
{
    struct sqlfs *s = sqlfs_of(fs);

    /* Every request committed before it answered: what is left is to make
     * the commits durable, for one file or the volume alike. */
    (void)file_ctx;
    return s->db->sync(s->backend);
}

/* ---- attributes ---- */

/* Apply set_basic_info's fields to @p in (memfs's rules). */
static void apply_basic_info(struct sqlfs_inode *in, uint32_t valid,
                             const fsp_file_info_t *new_info)
{
    struct timespec now = sqlfs_now();

    if (valid & FSP_SET_MODE)
        in->mode = (in->mode & S_IFMT) | (new_info->mode & 07777);
    if (valid & FSP_SET_UID)
        in->uid = new_info->uid;
    if (valid & FSP_SET_GID)
        in->gid = new_info->gid;
    if (valid & FSP_SET_KILL_SUID)
        in->mode = fsp_fs_mode_after_kill_suid(in->mode, in->gid);
    if (valid & FSP_SET_ATIME)
        in->atime = new_info->atime;
    if (valid & FSP_SET_ATIME_NOW)
        in->atime = now;
    if (valid & FSP_SET_MTIME)
        in->mtime = new_info->mtime;
    if (valid & FSP_SET_MTIME_NOW)
        in->mtime = now;
    if (valid & FSP_SET_CTIME)
        in->ctime = new_info->ctime;
    else if (valid)
        in->ctime = now;
}

/* set_basic_info, and get_file_info as a set_basic_info of nothing (a
 * read transaction then). */
static int op_set_basic_info(fsp_fs_t *fs, void *file_ctx, uint32_t valid,
                             const fsp_file_info_t *new_info,
                             fsp_file_info_t *info)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct sqlfs_inode in;
    struct sqlfs_txn *t;
    int err;

    err = sqlfs_begin_on(s, node->ino, valid != 0, &t, &in);
    if (err < 0)
        return err;
    if (valid) {
        apply_basic_info(&in, valid, new_info);
        err = s->db->inode_update(t, &in);
    }
    if (err == 0)
        err = sqlfs_info(s, t, &in, info);
    return sqlfs_end(s, t, err);
}

static int op_get_file_info(fsp_fs_t *fs, void *file_ctx,
                            fsp_file_info_t *info)
{
    return op_set_basic_info(fs, file_ctx, 0, NULL, info);
}

/* ---- directories and links ---- */

struct listing {
    struct sqlfs *s;
    struct sqlfs_txn *t;
    fsp_dir_buffer_t *buf;
    int err;
};

static bool add_entry(void *context, const char *name,
                      const struct sqlfs_inode *in)
{
    struct listing *l = context;
    fsp_file_info_t info;

    l->err = sqlfs_info(l->s, l->t, in, &info);
    if (l->err < 0)
        return false;
    /* Full: fsp calls again with the last name it took as the marker. */
    return fsp_dir_buffer_add(l->buf, name, &info);
}

static int op_read_directory(fsp_fs_t *fs, void *file_ctx, const char *marker,
                             fsp_dir_buffer_t *buf)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct listing l = {.s = s, .buf = buf};
    int err;

    if (!S_ISDIR(node->mode))
        return -ENOTDIR;
    err = sqlfs_begin(s, false, &l.t);
    if (err < 0)
        return err;
    /* Names in byte order, from the first after the marker: the marker
     * need not exist any more, so an entry removed between two calls
     * neither repeats nor hides another. */
    err = s->db->entry_list(l.t, node->ino, marker, add_entry, &l);
    if (err == 0)
        err = l.err;
    return sqlfs_end(s, l.t, err);
}

static int op_get_reparse_point(fsp_fs_t *fs, void *file_ctx, char *buf,
                                size_t size)
{
    struct sqlfs *s = sqlfs_of(fs);
    struct sqlfs_node *node = file_ctx;
    struct sqlfs_txn *t;
    int err;

    if (!S_ISLNK(node->mode))
        return -EINVAL;
    err = sqlfs_begin(s, false, &t);
    if (err < 0)
        return err;
    err = s->db->link_target(t, node->ino, buf, size);
    return sqlfs_end(s, t, err);
}

/* ---- the volume object ---- */

static const fsp_fs_interface_t sqlfs_interface = {
    .get_volume_info = op_get_volume_info,
    .get_file_info_by_name = op_get_file_info_by_name,
    .create = op_create,
    .open = op_open,
    .overwrite = sqlfs_op_overwrite,
    .close = op_close,
    .read = sqlfs_op_read,
    .write = sqlfs_op_write,
    .flush = op_flush,
    .get_file_info = op_get_file_info,
    .set_basic_info = op_set_basic_info,
    .set_file_size = sqlfs_op_set_file_size,
    .allocate = sqlfs_op_allocate,
    .unlink = sqlfs_op_unlink,
    .rename = sqlfs_op_rename,
    .link = sqlfs_op_link,
    .read_directory = op_read_directory,
    .get_reparse_point = op_get_reparse_point,
    .get_xattr = sqlfs_op_get_xattr,
    .set_xattr = sqlfs_op_set_xattr,
    .list_xattr = sqlfs_op_list_xattr,
    .remove_xattr = sqlfs_op_remove_xattr,
};

/* Free the orphans a previous mount left: files unlinked while open when
 * it ended without closing them (a crash, a SIGKILL). One transaction. */
static int free_orphans(struct sqlfs *s, unsigned *count)
{
    struct sqlfs_txn *t;
    uint64_t ino;
    int err;

    *count = 0;
    err = sqlfs_begin(s, true, &t);
    if (err < 0)
        return err;
    while ((err = s->db->orphan_next(t, 0, &ino)) == 0) {
        err = s->db->inode_delete(t, ino);
        if (err < 0)
            break;
        ++*count;
    }
    return sqlfs_end(s, t, err == -ENOENT ? 0 : err);
}

/* Another mount changed @p path: the kernel drops what it cached. */
static void changed_elsewhere(void *context, const char *path, unsigned what)
{
    struct sqlfs *s = context;

    pthread_mutex_lock(&s->fs_lock);
    if (s->fs)
        fsp_fs_notify(s->fs, path, what);
    pthread_mutex_unlock(&s->fs_lock);
}

/* The backend's state lines: fsptool stat shows them. */
static void publish_state(void *context, const char *lines)
{
    struct sqlfs *s = context;

    pthread_mutex_lock(&s->fs_lock);
    if (s->fs)
        fsp_fs_set_state(s->fs, lines);
    pthread_mutex_unlock(&s->fs_lock);
}

void sqlfs_attach(struct sqlfs *s, fsp_fs_t *fs)
{
    if (!fs && s->backend && s->db->quiesce)
        s->db->quiesce(s->backend); /* pending reads answered first */
    pthread_mutex_lock(&s->fs_lock);
    s->fs = fs;
    pthread_mutex_unlock(&s->fs_lock);
}

int sqlfs_create(const struct sqlfs_options *options,
                 fsp_fs_interface_t *interface, char *message, size_t size,
                 struct sqlfs **out)
{
    struct sqlfs_open_options oo = {
        .database = options->database,
        .full_sync = options->full_sync,
        .create = true,
        .exclusive = true,
        .case_insensitive = options->case_insensitive,
        .timeout_ms = options->timeout_ms,
        .read_delay_ms = options->read_delay_ms,
        .changed = changed_elsewhere,
        .published = publish_state,
    };
    const char *why;
    unsigned orphans;
    struct sqlfs *s;
    int err;

    *out = NULL;
    message[0] = 0;
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    pthread_mutex_init(&s->nodes_lock, NULL);
    pthread_mutex_init(&s->fs_lock, NULL);
    oo.changed_context = s;
    s->case_insensitive = options->case_insensitive;
    s->db = sqlfs_backend_for(options->database, &why);
    if (!s->db) {
        snprintf(message, size, "%s", why);
        err = -EPROTONOSUPPORT;
        goto out;
    }
    err = s->db->open(&oo, message, size, &s->backend);
    if (err < 0)
        goto out;
    err = free_orphans(s, &orphans);
    if (err < 0) {
        snprintf(message, size, "%s: cannot free the orphan list: %s",
                 options->database, strerror(-err));
        goto out;
    }
    *interface = sqlfs_interface;
    sqlfs_lock_callbacks(s, interface);
    *out = s;
out:
    if (err < 0)
        sqlfs_delete(s);
    return err;
}

void sqlfs_delete(struct sqlfs *s)
{
    size_t i;

    if (!s)
        return;
    for (i = 0; i < SQLFS_NODE_BUCKETS; i++)
        while (s->nodes[i]) {
            struct sqlfs_node *next = s->nodes[i]->next;
            free(s->nodes[i]);
            s->nodes[i] = next;
        }
    if (s->backend)
        s->db->close(s->backend);
    pthread_mutex_destroy(&s->nodes_lock);
    pthread_mutex_destroy(&s->fs_lock);
    free(s);
}
