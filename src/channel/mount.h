/*
 * mount.h - mounting and unmounting a FUSE file system (part of the channel
 * layer). As root: open /dev/fuse and call mount(2). As an ordinary user:
 * run fusermount3, which hands the /dev/fuse descriptor back over a socket.
 *
 * Every failure comes with a message that names the cause and the fix.
 */
#ifndef FSP_MOUNT_H
#define FSP_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The access time flag of a mount (MS_RELATIME, MS_STRICTATIME,
 * MS_NOATIME). FUSE inodes are S_NOATIME whatever it says: the flag is
 * what /proc/mounts shows, and the file system keeps atime to match. */
enum fsp_mount_atime {
    FSP_MOUNT_RELATIME = 0,   /* the kernel's default */
    FSP_MOUNT_STRICTATIME,
    FSP_MOUNT_NOATIME,
};

struct fsp_mount_options {
    const char *fs_name;      /* type is "fuse.<fs_name>"; "": "fuse" */
    const char *source;       /* shown in /proc/mounts; NULL: fs_name */
    bool allow_other;
    bool default_permissions;
    bool nonempty;            /* allow a non-empty mount point */
    bool auto_unmount;        /* unmount when the daemon dies */
    bool read_only;
    bool allow_setuid;        /* no MS_NOSUID: root only */
    bool allow_devices;       /* no MS_NODEV: root only */
    enum fsp_mount_atime atime;
    bool nodiratime;          /* MS_NODIRATIME */
    uint32_t max_read;        /* 0: not passed */
    /*
     * Synchronous INIT (FUSE_DEV_IOC_SYNC_INIT, Linux 6.18), when mounting
     * as root: mount(2) then sends INIT and waits for its reply, so the
     * volume answers it during the mount (and a bad INIT fails the mount).
     * serve_during_mount runs on a thread of its own for the length of
     * mount(2): it serves the session descriptor @fd until @stop_fd (an
     * eventfd) becomes readable. NULL, or a kernel without the ioctl, or
     * fusermount3: INIT comes after the mount, to the workers.
     */
    void (*serve_during_mount)(void *ctx, int fd, int stop_fd);
    void *serve_ctx;
};

/* What names a mount (see "Which mount is ours" in mount_ours.c). */
struct fsp_mount_id {
    unsigned conn_id;         /* /sys/fs/fuse/connections/<conn_id>; the
                                 kernel reuses it once the mount is gone */
    uint64_t unique;          /* statx STATX_MNT_ID_UNIQUE, never reused;
                                 0 on kernels before 6.8 */
};

struct fsp_mount {
    int fd;                   /* the /dev/fuse descriptor, or -1 */
    char *mountpoint;         /* canonical absolute path (malloc'd) */
    bool via_fusermount;      /* mounted by fusermount3 */
    struct fsp_mount_id id;   /* which mount is ours */
    pid_t watcher_pid;        /* auto-unmount watcher (root path), or 0 */
    int watcher_fd;           /* our end of the watcher's pipe, or -1 */
    pid_t fusermount_pid;     /* fusermount3 kept alive for auto_unmount */
    int fusermount_fd;        /* our end of its socket, or -1 */
    bool sync_init;           /* INIT was answered during mount(2) */
};

/*
 * Check the mount point and /dev/fuse, then mount. On success @m is filled
 * in (m->fd >= 0) and 0 is returned. On failure returns -errno, leaves
 * nothing mounted and nothing running, and writes into @errmsg (always
 * NUL-terminated) a sentence that says what is wrong and how to fix it.
 */
int fsp_mount_create(const char *mountpoint,
                     const struct fsp_mount_options *opt, struct fsp_mount *m,
                     char *errmsg, size_t errsize);

/*
 * Unmount (if still mounted), close the descriptor, and end the watcher or
 * the fusermount3 process. Idempotent; @m is left with fd == -1.
 */
void fsp_mount_destroy(struct fsp_mount *m);

/* Unmount only, keeping the descriptor: used to stop a running volume,
 * whose workers then see ENODEV. Returns 0 or -errno. */
int fsp_mount_unmount(struct fsp_mount *m);

#endif /* FSP_MOUNT_H */
