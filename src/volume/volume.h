/*
 * volume.h - layer 4, the volume: the node table, the handle table, and
 * the operations that turn a decoded request into a reply.
 *
 * Volume code sees the protocol (protocol.h) and the volume object
 * (fs_internal.h), never the channel: the build gives this folder no
 * include path to src/channel or src/dispatch (src/CMakeLists.txt).
 */
#ifndef FSP_VOLUME_H
#define FSP_VOLUME_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "fsp/fsp.h"
#include "fuse_abi.h"
#include "protocol.h"

struct fsp_fs;

/* ---------------------------------------------------------------- nodes */

/*
 * One FUSE node: a file the kernel knows, identified by a node id that is
 * never reused. A node has one name per hard link the kernel has looked up
 * (struct fsp_name); the first one is used to build its path. Two names of
 * one file (same index_number) share one node, so the kernel keeps one
 * inode and one page cache for them.
 *
 * A node lives while it is referenced: by the kernel (lookup_count > 0),
 * by each name whose parent it is, by each open handle, and by each
 * request working on it (fsp_node_get / fsp_node_put).
 */
struct fsp_name {
    struct fsp_node *parent;    /* holds a reference on the parent */
    char *name;
    struct fsp_node *node;
    struct fsp_name *hash_next; /* hash chain by (parent, name) */
    struct fsp_name *alias_next;/* the node's other names */
};

struct fsp_node {
    uint64_t nodeid;
    uint64_t lookup_count;      /* kernel references (LOOKUP minus FORGET) */
    uint64_t index_number;      /* the file system's st_ino, 0 if none */
    uint32_t refs;              /* see above; the kernel's count as 1 ref */
    uint32_t is_dir;
    struct fsp_name *names;     /* NULL for the root and unlinked nodes */
    void *meta_ctx;             /* FSP_OPEN_META context, opened lazily */
    /* With per_file_context: the handle that fh 0 names on this node
     * (its ctx is meta_ctx), made on first use, freed with the node. */
    struct fsp_handle *shared;
    /* Kernel passthrough (passthrough.c), under fs->passthrough_lock:
     * the backing file registered for this file while passthrough opens
     * of it exist, and how many opens of it are served each way (the
     * kernel lets one inode be open only one way at a time). */
    int32_t backing_id;
    uint32_t passthrough_opens;
    uint32_t user_io_opens;
    struct fsp_node *id_next;   /* hash chain by node id */
    struct fsp_node *ino_next;  /* hash chain by index_number */
};

struct fsp_node_table {
    pthread_mutex_t lock;
    struct fsp_node **by_id;
    struct fsp_node **by_ino;
    struct fsp_name **by_name;
    size_t buckets;             /* power of two, same for all tables */
    size_t count;               /* nodes */
    size_t names;               /* names */
    uint64_t next_id;
    struct fsp_node *root;
    /* Directory renames begun and ended (see fsp_node_paths_snapshot). */
    atomic_uint_fast64_t dir_renames_begun;
    atomic_uint_fast64_t dir_renames_ended;
};

/* ------------------------------------------------------------- handles */

/* One open file or directory: what the kernel's fh names. */
struct fsp_handle {
    void *ctx;                  /* the file system's file context */
    struct fsp_node *node;      /* holds a reference */
    int flags;                  /* open(2) flags */
    bool is_dir;
    /* A node's shared handle (per_file_context): not in the handle
     * table, no node reference of its own (the node owns it); a pin
     * holds a node reference instead. */
    bool shared;
    /* ctx is the node's meta context, which the node closes (an
     * O_TMPFILE file's one context), not the handle. */
    bool borrowed;
    uint8_t io_mode;            /* enum fsp_io_mode (passthrough.c) */
    atomic_bool modified;       /* written through this handle (set by
                                   any thread that completes a write) */
    /* Requests completed later (FSP_PENDING) that still use the file
     * context: RELEASE waits for them before it closes it. Under the
     * handle table's lock. */
    uint32_t pins;
    /* POSIX lock owners that locked through this open file, and whether
     * a FLUSH named each (volume_lock.c, under the handle table's lock):
     * those no FLUSH named own open-file (F_OFD_) locks, which RELEASE
     * unlocks. NULL until the first lock. */
    struct fsp_lock_owners *lock_owners;
    /* READDIR on a directory, one at a time: dir_busy is set from the
     * start of a READDIR until its reply is sent, which may be on another
     * thread (FSP_PENDING), hence a flag under dir_lock and not the mutex
     * itself. The kernel serializes READDIR per open file anyway; this is
     * the guard for when it does not (after an interrupted READDIR). */
    pthread_mutex_t dir_lock;
    pthread_cond_t dir_cond;
    bool dir_busy;
    /* The name of every entry the listing has handed out, by index, so
     * that a READDIR at any offset the kernel was given (the next one, or
     * a telldir position it seeks back to) resumes after the entry before
     * it by name, in one callback: entry 2 + i ("." and ".." have none)
     * is dir_names + dir_name_at[i]. The names are NUL-terminated, one
     * after the other; a name that changes at an index is appended
     * again. Emptied when the listing starts over at offset 0. Written
     * only while dir_busy is held. */
    char *dir_names;
    size_t dir_names_len, dir_names_cap;
    size_t *dir_name_at;
    size_t dir_count, dir_count_cap;
};

struct fsp_handle_table {
    pthread_mutex_t lock;
    pthread_cond_t unpinned;    /* a handle's pins dropped to 0 */
    struct fsp_handle_slot *slots;
    uint32_t capacity;
    uint32_t free_head;         /* index of the first free slot, or ~0 */
    uint32_t count;
};

/* ------------------------------------------------- directory listings */

/* What read_directory() fills with fsp_dir_buffer_add() (volume_dir.c).
 * It lives in the request's pending record, because a read_directory()
 * that returns FSP_PENDING goes on filling it from another thread. */
struct fsp_dir_buffer {
    struct fsp_fs *fs;
    struct fsp_handle *dir;     /* the open directory */
    bool plus;                  /* READDIRPLUS */
    char *buf;
    size_t size;
    size_t used;
    uint64_t index;             /* index of the next entry to add */
    uint64_t skip;              /* entries still to skip (after a seek) */
    bool full;
    bool failed;                /* out of memory recording names */
    /* names of the entries in this reply (becomes the handle's) */
    char *names;
    size_t names_len, names_cap;
    uint64_t first_index;
    uint32_t count;
};

/* @info came for @node (OPENDIR, GETATTR): the root, which no LOOKUP ever
 * names, takes @info's inode number if it has none yet; the listings' "."
 * and ".." show it (volume_dir.c). */
void fsp_vol_note_dir_ino(struct fsp_fs *fs, struct fsp_node *node,
                        const fsp_file_info_t *info);

/* -------------------------------------------------------- node table */

int fsp_node_table_init(struct fsp_node_table *t);
/* Free every node; closes their meta contexts through @fs's interface. */
void fsp_node_table_fini(struct fsp_fs *fs);

/* Get a reference to node @nodeid, or NULL if unknown. */
struct fsp_node *fsp_node_get(struct fsp_fs *fs, uint64_t nodeid);
/* Drop a reference taken by any of the fsp_node_* calls. */
void fsp_node_put(struct fsp_fs *fs, struct fsp_node *node);
/* Find the child @name of @parent, or create it: a new name of an existing
 * node when @info's index_number is known (hard links), else a new node.
 * Counts one kernel lookup when @count_lookup. Returns a referenced node,
 * or NULL (ENOMEM). */
struct fsp_node *fsp_node_lookup_child(struct fsp_fs *fs,
                                       struct fsp_node *parent,
                                       const char *name,
                                       const fsp_file_info_t *info,
                                       bool count_lookup);
/* The child @name of @parent if the table knows it (referenced), else NULL. */
struct fsp_node *fsp_node_find_child(struct fsp_fs *fs,
                                     struct fsp_node *parent,
                                     const char *name);
/* FORGET: the kernel drops @nlookup references to @nodeid. */
void fsp_node_forget(struct fsp_fs *fs, uint64_t nodeid, uint64_t nlookup);
/* Build the path of @node, plus "/@name" if @name is not NULL, of any
 * length (a deep tree's paths are longer than PATH_MAX). Returns a
 * malloc'd string, or NULL with *err set (-ENOENT for an unlinked node,
 * -ENOMEM, -ENAMETOOLONG for a @name longer than NAME_MAX). */
char *fsp_node_path(struct fsp_fs *fs, struct fsp_node *node,
                    const char *name, int *err);
/* The name @name of @parent was removed: detach its node if known. */
void fsp_node_unlinked(struct fsp_fs *fs, struct fsp_node *parent,
                       const char *name);
/*
 * A directory rename changes the path of everything below it, and LOOKUP
 * asks the file system by path: a lookup whose path was made before such
 * a rename and answered after it may be about another file, or about none
 * (and a "none" the kernel caches as a negative entry would hide the file
 * for the negative timeout). The kernel does not keep them apart: the
 * lookup holds only its own directory's lock, the rename only the
 * renamed directory's parents'. So a rename that moves a directory is
 * bracketed by begin/end, and a lookup takes a snapshot before it makes
 * its path and asks whether paths were stable throughout.
 */
struct fsp_paths_snapshot {
    uint_fast64_t begun;
    bool stable;                /* no directory rename was in progress */
};
void fsp_node_dir_rename_begin(struct fsp_fs *fs);
void fsp_node_dir_rename_end(struct fsp_fs *fs);
struct fsp_paths_snapshot fsp_node_paths_snapshot(struct fsp_fs *fs);
bool fsp_node_paths_unchanged(struct fsp_fs *fs,
                              const struct fsp_paths_snapshot *snap);
/* Before asking again: wait (at most 200 ms) until the directory renames
 * begun so far have ended, so that the next path is made after them. */
void fsp_node_paths_wait(struct fsp_fs *fs);
/* Record a successful rename in the table (flags as fsp_rename_flags). */
int fsp_node_renamed(struct fsp_fs *fs, struct fsp_node *parent,
                     const char *name, struct fsp_node *newparent,
                     const char *newname, unsigned flags);
/* What the kernel may have cached of a path (for notifications). */
struct fsp_cached_path {
    uint64_t parent;            /* the directory holding the last name, as
                                   far as the kernel knows it; 0 for "/" or
                                   when a directory on the way is unknown */
    uint64_t node;              /* the file the path names, or 0 when the
                                   kernel has not looked it up */
    char name[NAME_MAX + 1];    /* the last name ("" for "/") */
};
/* Resolve @path (absolute) through the names the kernel has looked up.
 * Node ids are never reused, so a stale id only makes the kernel answer
 * ENOENT. Returns 0, or -ENAMETOOLONG for a name over NAME_MAX. */
int fsp_node_cached_path(struct fsp_fs *fs, const char *path,
                         struct fsp_cached_path *out);
/* The node's attributes-only file context, opened on first use. */
int fsp_node_meta_ctx(struct fsp_fs *fs, struct fsp_node *node, void **ctx);
/* Make @ctx (just opened, or from create()) the meta context of @node; if
 * the node has one already, close @ctx instead. Returns the one kept. */
void *fsp_node_adopt_meta_ctx(struct fsp_fs *fs, struct fsp_node *node,
                              void *ctx);

/* O_TMPFILE. A new node with no name for the file @info describes,
 * with one kernel lookup and the caller's reference; NULL on ENOMEM. */
struct fsp_node *fsp_node_new_unnamed(struct fsp_fs *fs,
                                      const fsp_file_info_t *info);
/* After a LINK of @node: if it has no name yet (an O_TMPFILE file), give
 * it @name in @parent, so that the new name leads to the node the kernel
 * knows. Returns 0 or -ENOMEM. */
int fsp_node_name_unnamed(struct fsp_fs *fs, struct fsp_node *node,
                          struct fsp_node *parent, const char *name);

/* ------------------------------------------------------ handle table */

int fsp_handle_table_init(struct fsp_handle_table *t);
/* Close every handle still open (through the interface) and free. */
void fsp_handle_table_fini(struct fsp_fs *fs);
/* Register a new handle for @ctx on @node (takes a node reference).
 * Returns the fh for the kernel, or 0 on ENOMEM (fh 0 is never used). */
uint64_t fsp_handle_open(struct fsp_fs *fs, void *ctx, struct fsp_node *node,
                         int flags, bool is_dir);
/* The handle named by @fh, or NULL if @fh is not open. The pointer stays
 * valid until the handle is released, which the kernel does only after
 * every request on it has finished. */
struct fsp_handle *fsp_handle_get(struct fsp_fs *fs, uint64_t fh);
/* RELEASE: cleanup and close the context, drop the node reference.
 * Waits first until no pending request pins the handle. */
int fsp_handle_release(struct fsp_fs *fs, uint64_t fh);
/* per_file_context: the handle of @node that fh 0 names, made on first
 * use with the node's meta context (handle_table_shared.c). */
int fsp_handle_shared(struct fsp_fs *fs, struct fsp_node *node,
                      struct fsp_handle **h);
/* Free a node's shared handle (the node is being freed; no lock held). */
void fsp_handle_free_shared(struct fsp_handle *h);
/* The handle a request on node @nodeid names: @fh, or with
 * per_file_context and fh 0 the node's shared handle. Returns 0 with *h
 * set, or -EBADF (no such handle), -ESTALE (no such node), -ENOMEM. */
int fsp_request_handle(struct fsp_fs *fs, uint64_t nodeid, uint64_t fh,
                       struct fsp_handle **h);
/* A request completed later still uses @h's context: keep it open. */
void fsp_handle_pin(struct fsp_fs *fs, struct fsp_handle *h);
void fsp_handle_unpin(struct fsp_fs *fs, struct fsp_handle *h);

/* ----------------------------------------------------- volume helpers */

/* The path of @name in @parent for a request that changes the volume
 * (create, link, unlink, rename): NULL with *err = -EROFS on a read-only
 * volume, else as fsp_node_path(). */
char *fsp_volume_path_to_change(struct fsp_fs *fs, struct fsp_node *parent,
                                const char *name, int *err);
/* Fill an entry_out for @node with @info and the volume's timeouts. */
void fsp_volume_fill_entry(struct fsp_fs *fs, const struct fsp_node *node,
                           const fsp_file_info_t *info,
                           struct fuse_entry_out *entry);
/* Fill an attr_out for @nodeid with @info. */
void fsp_volume_fill_attr_out(struct fsp_fs *fs, uint64_t nodeid,
                              const fsp_file_info_t *info,
                              struct fuse_attr_out *out);

/* ------------------------------------------ kernel passthrough */

/* How the kernel does an open file's I/O (fsp_handle.io_mode). */
enum fsp_io_mode {
    FSP_IO_NONE,        /* not a regular file, or passthrough not granted */
    FSP_IO_USER,        /* READ and WRITE come to the file system */
    FSP_IO_PASSTHROUGH, /* the kernel uses the backing file itself */
};

/* Whether INIT should ask for FUSE_PASSTHROUGH: the file system can name
 * backing files and the volume has no writeback cache. */
bool fsp_passthrough_wanted(struct fsp_fs *fs);
/* After OPEN/CREATE of a file of @mode made handle @fh: for a regular
 * file on a volume with passthrough, choose its I/O mode, and for
 * passthrough register the backing file (once per node) and set
 * FOPEN_PASSTHROUGH and backing_id in @out; otherwise nothing. Returns 0
 * or -EBUSY (the file system declined passthrough for a file open with
 * it). */
int fsp_passthrough_open(struct fsp_fs *fs, uint64_t fh,
                         uint32_t mode, struct fuse_open_out *out);
/* The handle @h is being closed: drop its count; the last passthrough
 * open of a node unregisters the backing file. */
void fsp_passthrough_release(struct fsp_fs *fs, struct fsp_handle *h);

#endif /* FSP_VOLUME_H */
