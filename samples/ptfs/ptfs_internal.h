/**
 * @file ptfs_internal.h
 * ptfs's own structures, shared by its files:
 *
 *   ptfs.c           the callbacks of fsp_fs_interface (names, data, attributes)
 *   ptfs_dir.c       read_directory: sorted listings with redirections merged in
 *   ptfs_xattr.c     extended attributes
 *   ptfs_path.c      confined resolution of volume paths to SOURCE's files
 *   ptfs_link.c      symbolic link targets as ptfs serves them
 *   ptfs_redirect.c  the redirection table
 *   ptfs_notify.c    the inotify watcher
 *   ptfs_range.c     lseek(SEEK_DATA/SEEK_HOLE) and copy_file_range
 *   ptfs_lock.c      locks, ioctl and poll, passed to SOURCE
 */
#ifndef PTFS_INTERNAL_H
#define PTFS_INTERNAL_H

#include "ptfs.h"

#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

/* ---- redirections (ptfs_redirect.c) ---- */

/** One redirection: the name vpath serves the file rpath. */
struct ptfs_redirect {
    char *vpath;       /* "/docs/current": a volume path */
    size_t vpath_len;
    char *vparent;     /* "/docs": the directory that lists it */
    const char *vname; /* "current": its name there (points into vpath) */
    char *rpath;       /* "releases/v2/notes.txt": relative to SOURCE */
    size_t rpath_len;
    char *link_target; /* symlink mode: rpath relative to vparent */
};

struct ptfs_redirect_table {
    struct ptfs_redirect *items;
    size_t count;
    bool case_insensitive;
};

struct ptfs;

/* Build the table from the command line's specs; check each REAL exists
 * inside SOURCE (root_fd). On failure, message says which and why. */
int ptfs_redirect_table_init(struct ptfs_redirect_table *t,
                             const struct ptfs_redirect_spec *specs,
                             size_t count, bool case_insensitive, int root_fd,
                             char *message, size_t message_size);
void ptfs_redirect_table_free(struct ptfs_redirect_table *t);

/* The redirection that covers @vpath (vpath is its VIRTUAL or lies under
 * it), the longest if several do; NULL if none. *rest gets what follows
 * VIRTUAL in vpath ("" or "/x/y"). */
const struct ptfs_redirect *
ptfs_redirect_find(const struct ptfs_redirect_table *t, const char *vpath,
                   const char **rest);

/* Whether @name, listed in the directory @vdir, is a redirection's
 * VIRTUAL; NULL if not. */
const struct ptfs_redirect *
ptfs_redirect_in_dir(const struct ptfs_redirect_table *t, const char *vdir,
                     const char *name);

/* Call fn(vpath, arg) for every volume path that shows the file at
 * @rpath of SOURCE through a redirection (rpath is a REAL or under one). */
void ptfs_redirect_each_virtual(const struct ptfs_redirect_table *t,
                                const char *rpath,
                                void (*fn)(const char *vpath, void *arg),
                                void *arg);

/* ---- the volume ---- */

struct ptfs_notify;
struct ptfs_locks;

struct ptfs {
    int root_fd;          /* O_PATH descriptor of SOURCE: every path starts here */
    char *source;         /* SOURCE, absolute (for messages) */
    bool case_insensitive;
    bool confine_links;   /* serve link targets confined to the volume */
    enum ptfs_redirect_mode redirect_mode;
    struct ptfs_redirect_table redirects;
    bool as_root;         /* running as root: new files get the caller's owner */
    /* Access times (ptfs_options.atime, nodiratime): opened O_NOATIME. */
    bool file_noatime, dir_noatime;
    bool want_notify;
    struct ptfs_notify *notify;
    struct ptfs_locks *locks; /* ptfs_lock.c */
    fsp_fs_t *fs;         /* set by ptfs_start() */
};

static inline struct ptfs *ptfs_of(fsp_fs_t *fs)
{
    return fsp_fs_user_context(fs);
}

/* A sorted listing of a directory, made once per open (ptfs_dir.c). */
struct ptfs_listing {
    char **names;
    size_t count;
};

/** A file context: one open of a file of SOURCE. */
struct ptfs_file {
    int fd;          /* -1 for a symlink-mode redirection's link */
    bool is_path;    /* fd is O_PATH: attributes and names only */
    char *vpath;     /* the volume path it was opened by */
    const struct ptfs_redirect *vlink; /* symlink mode: the link shown */
    pthread_mutex_t dir_lock;          /* guards listing */
    struct ptfs_listing listing;
};

/* ---- paths (ptfs_path.c) ---- */

/* The path relative to SOURCE ("." for the root) that serves @vpath,
 * redirections applied. *whole gets the redirection if vpath is exactly
 * its VIRTUAL, else NULL. Caller frees *rpath. */
int ptfs_real_path(struct ptfs *p, const char *vpath, char **rpath,
                   const struct ptfs_redirect **whole);

/* Open the file at @rpath (relative to SOURCE, of any length), never
 * leaving SOURCE: openat2 with RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
 * and a path longer than one openat2 takes in pieces (ptfs_path.c). The
 * last component is never followed (O_NOFOLLOW is always added). With
 * case_insensitive, a path not found as spelled is looked up by case. */
int ptfs_open_real(struct ptfs *p, const char *rpath, int flags, int *fd);

/* ptfs_real_path() + ptfs_open_real(). */
int ptfs_open_virtual(struct ptfs *p, const char *vpath, int flags, int *fd);

/* For calls on a last component (create, unlink, rename, link): an O_PATH
 * descriptor of @vpath's parent directory and the last name. The name is
 * the stored spelling if case_insensitive finds one in another case.
 * Fails with -EBUSY if vpath is a redirection's VIRTUAL or the root.
 * *found tells whether the name exists. */
int ptfs_open_parent(struct ptfs *p, const char *vpath, int *dir_fd,
                     char name[NAME_MAX + 1], bool *found);

/* With case_insensitive: the stored spelling of @name in directory
 * @dir_fd (an O_PATH or open directory). 0, or -ENOENT if none. */
int ptfs_find_name_by_case(int dir_fd, const char *name,
                           char out[NAME_MAX + 1]);

/* "/proc/self/fd/N": reach an O_PATH descriptor's file by a path. */
void ptfs_fd_path(int fd, char buf[32]);

/* ---- attributes (ptfs.c) ---- */

void ptfs_stat_to_info(const struct stat *st, fsp_file_info_t *info);

/* ---- symbolic links (ptfs_link.c) ---- */

/* With -o confine_links, the target ptfs serves for the link @vpath
 * stored with @target: the target itself, unless it would lead a client
 * out of the volume, in which case its meaning with SOURCE as the root
 * ("/etc" -> the volume's own "etc"). @mountpoint may be NULL. */
int ptfs_link_served(const char *mountpoint, const char *vpath,
                     const char *target, char *buf, size_t size);

/* Read the link @name in @dir_fd (name "" and dir_fd the link itself,
 * open O_PATH) known as @vpath, and serve it (ptfs_link_served). */
int ptfs_link_read(fsp_fs_t *fs, int dir_fd, const char *name,
                   const char *vpath, char *buf, size_t size);

/* For lstat: make info->size the length of the served target of the link
 * @name in @dir_fd (as for ptfs_link_read), which may differ from the
 * stored one. */
void ptfs_link_fix_size(fsp_fs_t *fs, int dir_fd, const char *name,
                        const char *vpath, fsp_file_info_t *info);

/* The attributes of a symlink-mode redirection's link. */
int ptfs_vlink_info(struct ptfs *p, const struct ptfs_redirect *r,
                    fsp_file_info_t *info);

/* ---- directories (ptfs_dir.c), xattrs (ptfs_xattr.c) ---- */

int ptfs_op_read_directory(fsp_fs_t *fs, void *file_ctx, const char *marker,
                           fsp_dir_buffer_t *buf);
void ptfs_listing_free(struct ptfs_listing *l);

int ptfs_op_get_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                      void *buf, size_t size, size_t *length);
int ptfs_op_set_xattr(fsp_fs_t *fs, void *file_ctx, const char *name,
                      const void *value, size_t size, int flags);
int ptfs_op_list_xattr(fsp_fs_t *fs, void *file_ctx, char *buf, size_t size,
                       size_t *length);
int ptfs_op_remove_xattr(fsp_fs_t *fs, void *file_ctx, const char *name);

/* ---- lseek and copy_file_range on SOURCE's files (ptfs_range.c) */

int ptfs_op_seek(fsp_fs_t *fs, void *file_ctx, uint64_t offset, int whence,
                 uint64_t *result);
int ptfs_op_copy_file_range(fsp_fs_t *fs, void *src_ctx, uint64_t src_offset,
                            void *dst_ctx, uint64_t dst_offset, size_t length,
                            uint32_t flags, size_t *bytes_copied);

/* ---- locks, ioctl, poll (ptfs_lock.c) ---- */

/* The lock table; -ENOMEM. */
int ptfs_locks_create(struct ptfs *p);
/* End the waiting locks (-EINTR), close the owners' descriptors, free. */
void ptfs_locks_delete(struct ptfs *p);

int ptfs_op_get_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                     fsp_lock_t *conflict);
int ptfs_op_set_lock(fsp_fs_t *fs, void *file_ctx, const fsp_lock_t *lock,
                     unsigned flags);
int ptfs_op_flock(fsp_fs_t *fs, void *file_ctx, uint64_t owner,
                  int operation);
int ptfs_op_ioctl(fsp_fs_t *fs, void *file_ctx, uint32_t cmd,
                  const void *in, size_t in_size, void *out, size_t out_size,
                  size_t *bytes_transferred);
int ptfs_op_poll(fsp_fs_t *fs, void *file_ctx, uint64_t kh, uint32_t events,
                 uint32_t *revents);

/* ---- notify (ptfs_notify.c) ---- */

int ptfs_notify_start(struct ptfs *p, fsp_fs_t *fs, struct ptfs_notify **pn);
void ptfs_notify_stop(struct ptfs_notify *n);

#endif /* PTFS_INTERNAL_H */
