/**
 * @file ptfs.h
 * ptfs: the passthrough file system (WinFsp's ntptfs for Linux).
 *
 * ptfs serves a directory, SOURCE, at a mount point. Every request is
 * passed to the files of SOURCE; nothing under the mount can reach outside
 * SOURCE (ptfs_path.c). On top of plain passthrough it redirects names
 * (ptfs_redirect.c), can find names without regard to case, and can watch
 * SOURCE for changes made behind the mount's back (ptfs_notify.c).
 */
#ifndef PTFS_H
#define PTFS_H

#include <fsp/fsp.h>

#include <stdbool.h>
#include <stddef.h>

/** How a redirected name is shown. */
enum ptfs_redirect_mode {
    PTFS_REDIRECT_TRANSPARENT, /**< VIRTUAL serves REAL's file itself */
    PTFS_REDIRECT_SYMLINK,     /**< VIRTUAL is a symbolic link to REAL */
};

/** One -o redirect=VIRTUAL:REAL, as given. */
struct ptfs_redirect_spec {
    const char *virtual_path;
    const char *real_path;
};

/** What the command line decides about the file system proper. */
struct ptfs_options {
    const char *source;                   /**< the directory served */
    const struct ptfs_redirect_spec *redirects;
    size_t redirect_count;
    enum ptfs_redirect_mode redirect_mode;
    bool case_insensitive;
    /** Serve link targets that would lead out of the volume with their
     *  meaning inside it (see ptfs_link.c); off: targets as written. */
    bool confine_links;
    bool notify;                          /**< watch SOURCE (inotify) */
    /** Let the kernel read and write files of SOURCE itself (kernel
     *  passthrough) when it permits; off: every byte goes through ptfs. */
    bool passthrough;
    /** Leave fcntl(2) and flock(2) locks to the kernel, local to the
     *  mount (and no FLUSH per close); off: they are SOURCE's locks
     *  (ptfs_lock.c). */
    bool kernel_locks;
    /** The mount's access time policy (fsp_volume_params::atime and
     *  nodiratime). With relatime, the default, and with strictatime,
     *  access times are kept by the mount SOURCE is on (ptfs cannot set
     *  one without the kernel setting the change time too). With noatime
     *  ptfs opens SOURCE's files and directories O_NOATIME, with
     *  nodiratime its directories, and noatime turns passthrough off,
     *  since the kernel's own backing file follows SOURCE's mount. */
    uint8_t atime;
    bool nodiratime;
};

struct ptfs;

/**
 * Open SOURCE, check the redirections and fill in the callbacks.
 * On failure, @p message (of @p message_size bytes) says why.
 * @return 0 or -errno
 */
int ptfs_create(const struct ptfs_options *options,
                fsp_fs_interface_t *interface, struct ptfs **pptfs,
                char *message, size_t message_size);

/**
 * Start what needs the volume @p fs: the change watcher with -o notify.
 * Call before fsp_fs_mount(), so that no change made once the mount
 * shows goes unreported.
 */
int ptfs_start(struct ptfs *p, fsp_fs_t *fs);

/**
 * Stop the watcher (if any). Call before fsp_fs_delete(): the watcher
 * tells the volume about changes and must not outlive it. Idempotent.
 */
void ptfs_stop(struct ptfs *p);

/** Stop the watcher (if any) and free everything; NULL is fine. */
void ptfs_delete(struct ptfs *p);

#endif /* PTFS_H */
