/**
 * @file memfs_internal.h
 * The data structures of memfs and the helpers its files share.
 *
 * memfs is spread over: memfs.c (the volume and most callbacks),
 * memfs_xattr.c (the extended attribute callbacks), memfs_locks.c (its
 * lock table), memfs_ioctl.c (chattr flags and poll), memfs_slowio.c (reads,
 * writes and listings completed later, FSP_PENDING), memfs_node.c (nodes
 * and path lookup), memfs_dirmap.c (directory entries, an AVL tree) and
 * memfs_data.c (file contents, a sparse radix tree of pages).
 *
 * A *node* is a file of any type. Directories map names to nodes (a
 * struct memfs_dirmap); a regular file may have several names (hard
 * links), counted by nlink. An open file context is the node itself, with
 * open_count counting the opens. A node is freed when it has neither names
 * nor opens: unlink and rename drop names, close drops opens, and whichever
 * comes last frees it (memfs_node_release()).
 */
#ifndef MEMFS_INTERNAL_H
#define MEMFS_INTERNAL_H

#include "memfs.h"
#include "memfs_data.h"
#include "memfs_dirmap.h"
#include "memfs_slowio.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/** Longest name of a directory entry, in bytes (NAME_MAX). */
#define MEMFS_NAME_MAX 255
/** Longest symbolic link target, in bytes, without the NUL (PATH_MAX - 1). */
#define MEMFS_LINK_TARGET_MAX 4095
/** Largest extended attribute value (XATTR_SIZE_MAX). */
#define MEMFS_XATTR_VALUE_MAX 65536
/** Longest extended attribute name (XATTR_NAME_MAX). */
#define MEMFS_XATTR_NAME_MAX 255

/** One extended attribute of a node; a node keeps them in a list. */
struct memfs_xattr {
    struct memfs_xattr *next;
    size_t name_len;   /* without the NUL */
    size_t value_size;
    char name[];       /* the name, its NUL, then value_size value bytes */
};

/** A file of any type. */
struct memfs_node {
    struct memfs_node *prev, *next; /* memfs.all_nodes: every live node */
    uint64_t index_number;          /* st_ino, unique for the volume's life */
    uint32_t mode;                  /* type and permission bits */
    uint32_t nlink;                 /* names; directories: 2 + subdirs */
    uint32_t uid, gid, rdev;
    struct timespec atime, mtime, ctime, btime;
    uint64_t open_count;            /* file contexts handed out */
    struct memfs_xattr *xattrs;     /* in the order they were created */
    uint64_t xattr_bytes;           /* names + values, charged to the volume */

    /* S_IFREG */
    uint64_t size;
    struct memfs_data data;
    /* S_IFDIR */
    struct memfs_dirmap entries;
    struct memfs_node *parent;      /* the directory holding its one name;
                                       NULL for the root and once removed */
    /* S_IFLNK */
    char *link_target;
    /* An O_TMPFILE file not yet linked: link() may give it a name even
     * though nlink is 0 (memfs_tmpfile.c). */
    bool linkable;
    /* chattr flags (FS_*_FL, memfs_ioctl.c) and the locks held
     * (memfs_locks.c, under its own mutex) */
    uint32_t attr_flags;
    struct memfs_lock *locks;
};

/** The volume. Nothing of memfs is global: it all hangs from here. */
struct memfs {
    /*
     * One reader-writer lock over the whole volume: callbacks that only
     * look (lookup, stat, read, readdir, getxattr) share it; callbacks
     * that change anything (data, names, attributes, open counts) take it
     * alone. Coarse, but simple and obviously correct; reads, the common
     * case, still run in parallel.
     */
    pthread_rwlock_t lock;
    struct memfs_node *root;
    struct memfs_node *all_nodes;  /* list of every node, for memfs_delete */
    uint64_t next_index_number;
    uint64_t node_count;
    uint64_t used_bytes;           /* data pages and extended attributes */
    uint64_t freed_since_trim;     /* bytes freed since the last malloc_trim */
    struct memfs_options options;
    struct memfs_slowio *slowio;   /* NULL unless slowio_percent > 0 */
    struct memfs_locks *locks;     /* memfs_locks.c; NULL with kernel_locks */
    /* slowio_all: memfs's own callbacks, which the wrappers call. */
    fsp_fs_interface_t base_interface;
};

/* ---- memfs_node.c ---- */

/** The current time, to the nanosecond. */
struct timespec memfs_now(void);

/**
 * A new node of the given mode (type and permissions), owned by root,
 * with no names and no opens, all times now. It counts against
 * options.max_nodes. @return 0, -ENOSPC, -ENOMEM
 */
int memfs_node_new(struct memfs *m, uint32_t mode, struct memfs_node **out);

/** Free @p node if it has neither names nor opens. */
void memfs_node_release(struct memfs *m, struct memfs_node *node);

/** Free @p node unconditionally, with its data and attributes. */
void memfs_node_destroy(struct memfs *m, struct memfs_node *node);

/** Fill @p info with the attributes of @p node. */
void memfs_node_get_info(const struct memfs_node *node, fsp_file_info_t *info);

/** Set mtime and ctime to now: a change of contents. */
void memfs_node_touch_modified(struct memfs_node *node);

/** True if directory @p dir is directory @p node or one above it. */
bool memfs_node_is_ancestor(const struct memfs_node *dir,
                            const struct memfs_node *node);

/**
 * Find the node at @p path ("/", "/a/b").
 * @return 0, -ENOENT, -ENOTDIR (a middle component is not a directory),
 *         -ENAMETOOLONG (a component is longer than MEMFS_NAME_MAX)
 */
int memfs_lookup(struct memfs *m, const char *path, struct memfs_node **out);

/**
 * Find the directory that holds (or would hold) @p path, and the last
 * component's name, which points into @p path and is not NUL-terminated.
 * For "/" the parent is NULL and the name empty.
 * @return as memfs_lookup(), for the directories on the way
 */
int memfs_lookup_parent(struct memfs *m, const char *path,
                        struct memfs_node **parent, const char **name,
                        size_t *name_len);

/* ---- memfs_xattr.c ---- */

/** Free every extended attribute of @p node (not its byte count). */
void memfs_xattr_free_all(struct memfs_node *node);

int memfs_op_get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       void *buf, size_t size, size_t *length);
int memfs_op_set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       const void *value, size_t size, int flags);
int memfs_op_list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                        size_t *length);
int memfs_op_remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name);

/* ---- memfs.c, for the callbacks in other files ---- */

/** -ENOSPC unless the volume has room for @p pages more data pages. */
int memfs_check_room(const struct memfs *m, uint64_t pages);
/** After a file's pages changed in number: the volume's count follows. */
void memfs_account_pages(struct memfs *m, const struct memfs_node *node,
                         uint64_t pages_before);
/** 0 for a regular file, else what a data callback answers. */
int memfs_check_regular(const struct memfs_node *node);
/** A new node for create() in @p parent (type checks, owner, and the
 *  group of set-group-ID directories), with no name yet. */
int memfs_make_node(struct memfs *m, const struct memfs_node *parent,
                    const fsp_create_info_t *ci, struct memfs_node **out);

/* ---- memfs_seek.c, memfs_copy.c, memfs_tmpfile.c ---- */

int memfs_op_seek(fsp_fs_t *fs, void *file_ctx, uint64_t offset, int whence,
                  uint64_t *result);
int memfs_op_copy_file_range(fsp_fs_t *fs, void *src_ctx, uint64_t src_offset,
                             void *dst_ctx, uint64_t dst_offset,
                             size_t length, uint32_t flags,
                             size_t *bytes_copied);
int memfs_op_create_tmpfile(fsp_fs_t *fs, const char *dir_path,
                            const fsp_create_info_t *ci, void **file_ctx,
                            fsp_file_info_t *info);
/* ---- memfs_locks.c, memfs_ioctl.c ---- */

/** The lock table of a volume; -ENOMEM. */
int memfs_locks_create(struct memfs *m);
/** Free it (after fsp_fs_delete()). */
void memfs_locks_delete(struct memfs *m);
/** The last open of @p node closed: drop the locks left on it. */
void memfs_locks_last_close(struct memfs *m, struct memfs_node *node);
/** Free the locks of a node that is being destroyed. */
void memfs_locks_free_node(struct memfs_node *node);

int memfs_op_get_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                      fsp_lock_t *conflict);
int memfs_op_set_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                      unsigned flags);
int memfs_op_flock(fsp_fs_t *fs, void *file_ctx, uint64_t owner,
                   int operation);

/** What a callback is about to change, for memfs_flags_check(). */
enum memfs_change {
    MEMFS_CHANGE_DATA,        /* write anywhere */
    MEMFS_CHANGE_APPEND,      /* write at the end only (O_APPEND) */
    MEMFS_CHANGE_SIZE,        /* truncate, fallocate, O_TRUNC */
    MEMFS_CHANGE_ATTR,        /* mode, owner, explicit times, xattrs */
    MEMFS_CHANGE_TIMES_NOW,   /* times set to now (touch) */
    MEMFS_CHANGE_NAME,        /* unlink, rename or link of the file */
    MEMFS_CHANGE_DIR_ADD,     /* a directory gains an entry */
    MEMFS_CHANGE_DIR_REMOVE,  /* a directory loses one */
};

/** -EPERM if the chattr flags of @p node forbid @p what, else 0. */
int memfs_flags_check(const struct memfs_node *node, enum memfs_change what);
/** The same for an open(2) with @p flags (writes, and how). */
int memfs_flags_check_open(const struct memfs_node *node, int flags);

int memfs_op_ioctl(fsp_fs_t *fs, void *file_ctx, uint32_t cmd,
                   const void *in, size_t in_size, void *out, size_t out_size,
                   size_t *bytes_transferred);
int memfs_op_poll(fsp_fs_t *fs, void *file_ctx, uint64_t kh,
                  uint32_t events, uint32_t *revents);

/* ---- for every callback ---- */

/** The volume of a callback: the user context given to fsp_fs_create().
 *  (memfs_selftest's stub hands back the fs pointer itself.) */
static inline struct memfs *memfs_of(fsp_fs_t *fs)
{
    return fsp_fs_user_context(fs);
}

/** The volume's lock, shared: for callbacks that only look. */
static inline void memfs_read_lock(struct memfs *m)
{
    pthread_rwlock_rdlock(&m->lock);
}

/** The volume's lock, exclusive: for callbacks that change anything. */
static inline void memfs_write_lock(struct memfs *m)
{
    pthread_rwlock_wrlock(&m->lock);
}

static inline void memfs_unlock(struct memfs *m)
{
    pthread_rwlock_unlock(&m->lock);
}

/** Bytes of the volume's size not used yet by data or attributes. */
static inline uint64_t memfs_free_bytes(const struct memfs *m)
{
    uint64_t total = m->options.total_size;
    return m->used_bytes < total ? total - m->used_bytes : 0;
}

#endif /* MEMFS_INTERNAL_H */
