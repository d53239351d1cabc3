/*
 * mount_internal.h - what the files of the mount code (mount*.c) share:
 * the request being served with its error message, the view of
 * /proc/self/mountinfo that says which mount is ours, the child processes,
 * and each step of fsp_mount_create(). Not for other files: their contract
 * is mount.h. The design (two ways in, the watcher, fork children that make
 * only async-signal-safe calls) is described at the top of mount.c.
 */
#ifndef FSP_MOUNT_INTERNAL_H
#define FSP_MOUNT_INTERNAL_H

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "mount.h"

#define FUSE_DEVICE           "/dev/fuse"
#define FUSERMOUNT            "fusermount3"
#define PLAIN_FUSE_TYPE       "fuse"  /* the type of an empty fs_name */
#define WATCHER_DONE          'U'   /* daemon to watcher: mount seen to */

#define REAP_TIMEOUT_MS       2000  /* then SIGKILL */
#define HELPER_TEXT_MAX       1024  /* what we keep of fusermount3's stderr */
#define EXEC_FAILED_MARK      "fsp: execve failed: errno "

/* ------------------------------------------------------------------ */
/* The request being served, and its error message                     */
/* ------------------------------------------------------------------ */

struct fsp_mount_request {
    const char *given;        /* the mount point as the caller wrote it */
    char shown[PATH_MAX + 64];/* the same, quoted for a shell if needed */
    const struct fsp_mount_options *opt;
    const char *fs_name;      /* validated, never NULL; "": no subtype */
    const char *source;       /* never NULL */
    bool privileged;          /* geteuid() == 0: mount(2) ourselves */
    char *errmsg;
    size_t errsize;
};

/* Formats the message and returns @err, so that a check reads
 * "return fail(rq, -EFOO, ...)". */
__attribute__((format(printf, 3, 4)))
static inline int fail(struct fsp_mount_request *rq, int err,
                       const char *fmt, ...)
{
    va_list ap;

    if (rq->errsize > 0) {
        va_start(ap, fmt);
        vsnprintf(rq->errmsg, rq->errsize, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* Copies @src into @dst (of @size > 0 bytes), cut short to fit. */
static inline void copy_truncated(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);

    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* ------------------------------------------------------------------ */
/* Which mount is ours (mount_ours.c)                                  */
/* ------------------------------------------------------------------ */

/* What mountinfo says about one path. */
struct fsp_mount_lookup {
    const char *path;               /* in */
    bool match_dev;                 /* in: look for this device too */
    unsigned dev_major, dev_minor;  /* in */
    bool found;                     /* out: something is mounted on path */
    unsigned top_major, top_minor;  /* out: the topmost mount on path */
    char top_fstype[64];
    char top_source[256];
    bool dev_found;                 /* out: the device is mounted on path */
};

/* Fills in the out fields of @lk from /proc/self/mountinfo. Returns 0 or
 * -errno if it cannot be read. No malloc (the watcher calls it). */
int fsp_mount_lookup_path(struct fsp_mount_lookup *lk);

/* The connection id of the FUSE mount that sits on top of @path. */
int fsp_mount_find_connection_id(const char *path, unsigned *conn_id);

/* Writes "1" to /sys/fs/fuse/connections/<id>/abort, if fusectl is mounted.
 * Async-signal-safe (no snprintf). */
void fsp_mount_abort_connection(unsigned conn_id);

/* Is our mount on @path, and on top? Returns 1 if so, 0 if it is gone,
 * -EBUSY if another mount now covers it, or -errno. Unmounting by path
 * without asking this first could take down someone else's mount made on
 * the same path since. Uses no malloc (the watcher calls it). */
int fsp_our_mount_is_on_top(const char *path, const struct fsp_mount_id *id);

/* Fill in @id for the FUSE mount just made on @path. */
int fsp_mount_identify(const char *path, struct fsp_mount_id *id);

/* ------------------------------------------------------------------ */
/* Child processes (mount_child.c)                                     */
/* ------------------------------------------------------------------ */

/* Waits up to @timeout_ms for child @pid to end, then kills it (SIGKILL) and
 * waits for good. Returns true if it ended by itself. *status gets the wait
 * status, or -1 if the child could not be waited for (not ours, or SIGCHLD
 * is ignored and the kernel reaped it). */
bool fsp_mount_reap_child(pid_t pid, int timeout_ms, int *status);

/* In a fork child: puts @in, @out and @err on 0, 1 and 2, @extra (if >= 0)
 * on 3, and closes every other descriptor. Async-signal-safe. */
bool fsp_mount_place_child_fds(int in, int out, int err, int extra);

/* Runs @path with stdin from /dev/null, stdout and stderr into @out_fd, and
 * @comm_fd (if >= 0) as descriptor 3. Returns the pid or -errno. If execve
 * fails, the child writes EXEC_FAILED_MARK and the errno to @out_fd. */
pid_t fsp_mount_spawn_helper(const char *path, char *const argv[],
                             char *const envp[], int null_fd, int out_fd,
                             int comm_fd);

/* ------------------------------------------------------------------ */
/* The steps of fsp_mount_create()                                     */
/* ------------------------------------------------------------------ */

/* mount_check.c: the file system's name and source; suid and dev, which
 * only root may have (fusermount3 mounts nosuid, nodev); /dev/fuse. */
int fsp_mount_check_names(struct fsp_mount_request *rq);
int fsp_mount_check_root_options(struct fsp_mount_request *rq);
int fsp_mount_check_fuse_device(struct fsp_mount_request *rq);

/* mount_point.c: resolves and checks the mount point; *path gets its
 * canonical form. */
int fsp_mount_check_mountpoint(struct fsp_mount_request *rq, char **path);

/* mount_root.c: /dev/fuse and mount(2). */
int fsp_mount_as_root(struct fsp_mount_request *rq, struct fsp_mount *m);

/* mount_fusermount.c: mounting through fusermount3 (it hands back the
 * /dev/fuse descriptor); and "fusermount3 -u -z -- @path", waited for
 * (bounded). Where fusermount3 is: fusermount_find.h. */
int fsp_mount_with_fusermount(struct fsp_mount_request *rq,
                              struct fsp_mount *m);
int fsp_mount_run_fusermount_unmount(const char *path);

/* mount_fusermount_errors.c: fusermount3's words (@text, HELPER_TEXT_MAX
 * bytes, tidied in place) and wait @status turned into a cause and a fix.
 * Returns the -errno that fits. */
int fsp_mount_explain_fusermount_failure(struct fsp_mount_request *rq,
                                         const char *helper, char *text,
                                         int status);

/* mount_watcher.c: the auto-unmount watcher. */
int fsp_mount_start_unmount_watcher(struct fsp_mount_request *rq,
                                    struct fsp_mount *m);

#endif /* FSP_MOUNT_INTERNAL_H */
