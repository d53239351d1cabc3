/**
 * @file fs_core.c
 * What every callback of sqlfs uses: transactions, paths, attributes, the
 * table of open files and the last link of an inode (sqlfs_internal.h).
 */
#define _GNU_SOURCE

#include "sqlfs_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* st_size of a directory: like tmpfs, a nominal 20 bytes per entry, "."
 * and ".." included. The database keeps the number of entries. */
#define DIRENT_NOMINAL_SIZE 20

struct sqlfs *sqlfs_of(fsp_fs_t *fs)
{
    return fsp_fs_user_context(fs);
}

struct timespec sqlfs_now(void)
{
    struct timespec now;

    clock_gettime(CLOCK_REALTIME, &now);
    return now;
}

int sqlfs_begin(struct sqlfs *s, bool write, struct sqlfs_txn **t)
{
    return s->db->begin(s->backend, write, t);
}

int sqlfs_end(struct sqlfs *s, struct sqlfs_txn *t, int err)
{
    if (err < 0) {
        s->db->rollback(t);
        return err;
    }
    return s->db->commit(t);
}

int sqlfs_begin_on(struct sqlfs *s, uint64_t ino, bool write,
                   struct sqlfs_txn **t, struct sqlfs_inode *in)
{
    int err;

    memset(in, 0, sizeof *in);
    err = sqlfs_begin(s, write, t);
    if (err < 0)
        return err;
    err = s->db->inode_get(*t, ino, in);
    if (err < 0) {
        s->db->rollback(*t);
        *t = NULL;
    }
    return err;
}

/* ---- paths ---- */

/* Copy the component of @p path that starts at *p, and ends at @p end at
 * the latest, into @p name and step past it. @return its length, 0 at
 * the end, -ENAMETOOLONG */
static int next_component(const char **p, const char *end,
                          char name[SQLFS_NAME_MAX + 1])
{
    const char *start = *p, *stop;
    size_t len;

    while (start < end && *start == '/')
        start++;
    stop = memchr(start, '/', (size_t)(end - start));
    if (!stop)
        stop = end;
    len = (size_t)(stop - start);
    if (len > SQLFS_NAME_MAX)
        return -ENAMETOOLONG;
    memcpy(name, start, len);
    name[len] = 0;
    *p = stop;
    return (int)len;
}

/* The inode the first @p len bytes of @p path name: one entry at a time,
 * so that a path of any length (any depth of the tree) resolves. */
static int resolve_prefix(struct sqlfs *s, struct sqlfs_txn *t,
                          const char *path, size_t len, uint64_t *ino)
{
    char name[SQLFS_NAME_MAX + 1];
    const char *end = path + len;
    uint64_t at = SQLFS_ROOT_INO;
    int n, err = 0;

    *ino = 0;
    while ((n = next_component(&path, end, name)) > 0) {
        err = s->db->entry_find(t, at, name, &at);
        if (err < 0)
            return err;
    }
    if (n < 0)
        return n;
    *ino = at;
    return err;
}

int sqlfs_resolve(struct sqlfs *s, struct sqlfs_txn *t, const char *path,
                  uint64_t *ino)
{
    return resolve_prefix(s, t, path, strlen(path), ino);
}

int sqlfs_lookup(struct sqlfs *s, struct sqlfs_txn *t, const char *path,
                 struct sqlfs_inode *in)
{
    uint64_t ino;
    int err = sqlfs_resolve(s, t, path, &ino);

    return err < 0 ? err : s->db->inode_get(t, ino, in);
}

int sqlfs_resolve_parent(struct sqlfs *s, struct sqlfs_txn *t,
                         const char *path, uint64_t *parent,
                         const char **name)
{
    const char *slash = strrchr(path, '/');

    *parent = 0;
    *name = NULL;
    if (!slash)
        return -EINVAL; /* fsp's paths are absolute */
    if (slash[1] == 0)
        return 0; /* "/": no parent */
    if (strlen(slash + 1) > SQLFS_NAME_MAX)
        return -ENAMETOOLONG;
    *name = slash + 1;
    /* The directory is the path up to the last '/', resolved in place. */
    return resolve_prefix(s, t, path, (size_t)(slash - path), parent);
}

/* ---- attributes ---- */

int sqlfs_info(struct sqlfs *s, struct sqlfs_txn *t,
               const struct sqlfs_inode *in, fsp_file_info_t *info)
{
    uint64_t bytes = 0;
    int err = 0;

    memset(info, 0, sizeof *info);
    info->index_number = in->ino;
    info->mode = in->mode;
    info->nlink = in->nlink;
    info->uid = in->uid;
    info->gid = in->gid;
    info->rdev = in->rdev;
    info->atime = in->atime;
    info->mtime = in->mtime;
    info->ctime = in->ctime;
    info->btime = in->btime;
    info->size = in->size;
    if (S_ISDIR(in->mode))
        info->size = (in->size + 2) * DIRENT_NOMINAL_SIZE;
    if (S_ISREG(in->mode) && in->size > 0) {
        err = s->db->chunk_bytes(t, in->ino, &bytes);
        /* st_blocks counts 512-byte blocks: round up to whole 4 KiB
         * pages, as a disk file system would. */
        info->allocation_size = (bytes + 4095) & ~(uint64_t)4095;
    }
    return err;
}

/* ---- open files ---- */

static struct sqlfs_node **bucket(struct sqlfs *s, uint64_t ino)
{
    return &s->nodes[(ino * 0x9e3779b97f4a7c15ull >> 32) % SQLFS_NODE_BUCKETS];
}

struct sqlfs_node *sqlfs_node_get(struct sqlfs *s, uint64_t ino, uint32_t mode)
{
    struct sqlfs_node **head, *node;

    pthread_mutex_lock(&s->nodes_lock);
    head = bucket(s, ino);
    for (node = *head; node && node->ino != ino; node = node->next)
        ;
    if (!node) {
        node = calloc(1, sizeof *node);
        if (node) {
            node->ino = ino;
            node->mode = mode & S_IFMT;
            node->next = *head;
            *head = node;
        }
    }
    if (node)
        node->refs++;
    pthread_mutex_unlock(&s->nodes_lock);
    return node;
}

bool sqlfs_node_put(struct sqlfs *s, struct sqlfs_node *node)
{
    struct sqlfs_node **link;
    bool orphan = false;

    pthread_mutex_lock(&s->nodes_lock);
    if (--node->refs == 0) {
        for (link = bucket(s, node->ino); *link != node; link = &(*link)->next)
            ;
        *link = node->next;
        orphan = node->orphan;
        free(node);
    }
    pthread_mutex_unlock(&s->nodes_lock);
    return orphan;
}

bool sqlfs_node_mark_orphan(struct sqlfs *s, uint64_t ino)
{
    struct sqlfs_node *node;

    pthread_mutex_lock(&s->nodes_lock);
    for (node = *bucket(s, ino); node && node->ino != ino; node = node->next)
        ;
    if (node)
        node->orphan = true;
    pthread_mutex_unlock(&s->nodes_lock);
    return node != NULL;
}

/* ---- links ---- */

int sqlfs_drop_link(struct sqlfs *s, struct sqlfs_txn *t,
                    struct sqlfs_inode *in)
{
    in->nlink = S_ISDIR(in->mode) || in->nlink == 0 ? 0 : in->nlink - 1;
    in->ctime = sqlfs_now();
    if (in->nlink > 0)
        return s->db->inode_update(t, in);
    /*
     * The last name. An open file lives on, on the orphan list, until its
     * last close (or, after a crash, the next mount). The mark and the
     * orphan row are made in this transaction, under the backend's
     * serialization, so no open of the inode can come between.
     */
    if (sqlfs_node_mark_orphan(s, in->ino)) {
        int err = s->db->inode_update(t, in);
        return err < 0 ? err : s->db->orphan_add(t, in->ino);
    }
    return s->db->inode_delete(t, in->ino);
}
