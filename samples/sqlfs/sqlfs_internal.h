/**
 * @file sqlfs_internal.h
 * What the files of sqlfs share: the volume object, the table of open
 * files, transactions, path resolution and attributes.
 */
#ifndef SQLFS_INTERNAL_H
#define SQLFS_INTERNAL_H

#include "backend.h"
#include "sqlfs.h"

#include <fsp/fsp.h>
#include <pthread.h>

/** Longest name of a directory entry (NAME_MAX). */
#define SQLFS_NAME_MAX 255
/** Largest file: 2^46 bytes (1 Gi chunks). */
#define SQLFS_MAX_FILE_SIZE (UINT64_C(1) << 46)
/** Buckets of the open file table. */
#define SQLFS_NODE_BUCKETS 1024

/** An open file: the file context of every open of one inode. */
struct sqlfs_node {
    uint64_t ino;            /**< its inode */
    uint32_t mode;           /**< type bits (never change) */
    unsigned refs;           /**< opens (file contexts) of it */
    bool orphan;             /**< its last name went while open: on the
                                  orphan list, deleted at the last close */
    struct sqlfs_node *next; /**< in its bucket */
};

struct sqlfs {
    struct sqlfs_backend *backend;        /**< the database */
    const struct sqlfs_backend_ops *db;   /**< its functions */
    bool case_insensitive;                /**< names match in any case */
    pthread_mutex_t nodes_lock;           /**< guards nodes */
    pthread_mutex_t fs_lock;              /**< guards fs */
    fsp_fs_t *fs;                         /**< the volume, once attached */
    struct sqlfs_node *nodes[SQLFS_NODE_BUCKETS]; /**< open files by ino */
};

/** The file system of a volume. */
struct sqlfs *sqlfs_of(fsp_fs_t *fs);

/** Begin a transaction (write: it may change rows). @return 0 or -errno */
int sqlfs_begin(struct sqlfs *s, bool write, struct sqlfs_txn **t);

/**
 * End a transaction: commit it if @p err is 0, else roll it back.
 * @return @p err, or the commit's error
 */
int sqlfs_end(struct sqlfs *s, struct sqlfs_txn *t, int err);

/**
 * Begin a transaction and read inode @p ino, which most callbacks start
 * with. On failure nothing is left open.
 * @return 0 or -errno (-ENOENT: no such inode)
 */
int sqlfs_begin_on(struct sqlfs *s, uint64_t ino, bool write,
                   struct sqlfs_txn **t, struct sqlfs_inode *in);

/** The current time (CLOCK_REALTIME). */
struct timespec sqlfs_now(void);

/**
 * The inode a path names. @return 0, -ENOENT
 */
int sqlfs_resolve(struct sqlfs *s, struct sqlfs_txn *t, const char *path,
                  uint64_t *ino);

/** The inode a path names, read. @return 0, -ENOENT */
int sqlfs_lookup(struct sqlfs *s, struct sqlfs_txn *t, const char *path,
                 struct sqlfs_inode *in);

/**
 * The directory a path's last component is in, and that component.
 * @param parent out: the directory's inode; 0 for "/" itself
 * @param name   out: the last component (a pointer into @p path)
 * @return 0, -ENOENT, -ENAMETOOLONG
 */
int sqlfs_resolve_parent(struct sqlfs *s, struct sqlfs_txn *t,
                         const char *path, uint64_t *parent,
                         const char **name);

/** Fill fsp's attributes from an inode (st_blocks from its chunks).
 * @return 0 or -errno */
int sqlfs_info(struct sqlfs *s, struct sqlfs_txn *t,
               const struct sqlfs_inode *in, fsp_file_info_t *info);

/** The open file of @p ino, with one more reference (created with @p mode
 * if it is not open). @return the node, or NULL without memory */
struct sqlfs_node *sqlfs_node_get(struct sqlfs *s, uint64_t ino,
                                  uint32_t mode);

/** Drop a reference. @return true if it was the last one of an orphan:
 * the caller deletes the inode. The node is freed at its last reference. */
bool sqlfs_node_put(struct sqlfs *s, struct sqlfs_node *node);

/** Mark @p ino as an orphan if it is open. @return true if it is open */
bool sqlfs_node_mark_orphan(struct sqlfs *s, uint64_t ino);

/**
 * Take one name from inode @p in (unlink, or a rename that replaces it):
 * its link count drops (a directory's to 0) and, at 0, it is deleted, or
 * put on the orphan list while it is open.
 * @return 0 or -errno
 */
int sqlfs_drop_link(struct sqlfs *s, struct sqlfs_txn *t,
                    struct sqlfs_inode *in);

/** Data callbacks (fs_data.c): read, write, overwrite, set_file_size,
 * allocate. */
int sqlfs_op_read(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                  size_t length, size_t *bytes_transferred);
/** See fsp_fs_interface::write. */
int sqlfs_op_write(fsp_fs_t *fs, void *file_ctx, const void *buf,
                   uint64_t offset, size_t length, int flags,
                   size_t *bytes_transferred);
/** See fsp_fs_interface::overwrite. */
int sqlfs_op_overwrite(fsp_fs_t *fs, void *file_ctx);
/** See fsp_fs_interface::set_file_size. */
int sqlfs_op_set_file_size(fsp_fs_t *fs, void *file_ctx, uint64_t new_size,
                           fsp_file_info_t *info);
/** See fsp_fs_interface::allocate. */
int sqlfs_op_allocate(fsp_fs_t *fs, void *file_ctx, int mode, uint64_t offset,
                      uint64_t length);

/** Extended attribute callbacks (fs_xattr.c). See fsp_fs_interface. */
int sqlfs_op_get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       void *buf, size_t size, size_t *length);
/** See fsp_fs_interface::set_xattr. */
int sqlfs_op_set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                       const void *value, size_t size, int flags);
/** See fsp_fs_interface::list_xattr. */
int sqlfs_op_list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                        size_t *length);
/** See fsp_fs_interface::remove_xattr. */
int sqlfs_op_remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name);

/**
 * Set the lock callbacks (fs_lock.c) in @p iface if the backend serves
 * locks across mounts (PostgreSQL); else leave them NULL: the kernel's.
 */
void sqlfs_lock_callbacks(const struct sqlfs *s, fsp_fs_interface_t *iface);

/** Name callbacks (fs_names.c): unlink, rename, link. */
int sqlfs_op_unlink(fsp_fs_t *fs, void *file_ctx, const char *path);
/** See fsp_fs_interface::rename. */
int sqlfs_op_rename(fsp_fs_t *fs, void *file_ctx, const char *path,
                    const char *new_path, unsigned flags);
/** See fsp_fs_interface::link. */
int sqlfs_op_link(fsp_fs_t *fs, void *file_ctx, const char *new_path,
                  fsp_file_info_t *info);

#endif
