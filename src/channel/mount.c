/*
 * mount.c - mounting and unmounting a FUSE file system (see mount.h): the
 * contract, fsp_mount_create() step by step, fsp_mount_unmount() and
 * fsp_mount_destroy(). The steps live in files of their own:
 *   mount_check.c              the file system's name, root's options,
 *                              /dev/fuse
 *   mount_point.c              the mount point
 *   mount_root.c               mount(2), as root
 *   mount_fusermount.c         fusermount3, for an ordinary user
 *   mount_fusermount_errors.c  what fusermount3's failures mean
 *   mount_watcher.c            the auto-unmount watcher
 *   mount_ours.c               which mount is ours (asked before unmounting)
 *   mount_child.c              starting and reaping child processes
 * and what they share is in mount_internal.h. fsptool links three helpers
 * too: fusermount_find.c (where fusermount3 is), shell_quote.c (paths in
 * the commands a message suggests) and mountinfo.c (the mount table).
 *
 * Two ways in:
 *  - as root: open /dev/fuse and call mount(2);
 *  - as an ordinary user: run the setuid helper fusermount3, which mounts and
 *    hands the /dev/fuse descriptor back over a socket.
 *
 * auto_unmount, on both paths, is a small forked watcher process that
 * unmounts once the daemon is gone: umount2() as root, "fusermount3 -u -z"
 * otherwise. fusermount3's own auto_unmount is not used: up to libfuse 3.14
 * (Debian 12) it checks the dead mount as euid 0, gets EACCES from a mount
 * without allow_other, and leaves it there (libfuse issue #586).
 *
 * Before mounting, the machine and the mount point are checked, so that
 * a failure reads as a cause and a fix rather than as a bare errno. Messages
 * name the mount point (as the caller wrote it) or the device first and end
 * with what to do.
 *
 * Processes and threads. fsp_mount_create() forks: fusermount3, the watcher,
 * and a probe that questions an existing FUSE mount. Every fork child
 * makes only async-signal-safe calls before it execs or _exits (no malloc, no
 * stdio, no atexit handlers), and /proc/self/mountinfo is read with open/read
 * into a stack buffer for the same reason: the watcher shares that code. So
 * other threads may run meanwhile. Every descriptor the mount code creates is
 * O_CLOEXEC, and children close everything they were not given, so none of
 * the caller's descriptors leaks into fusermount3 (setuid root) or into the
 * watcher (which lives as long as the daemon).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount.h"
#include "mount_internal.h"
#include "shell_quote.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

static void reset_mount(struct fsp_mount *m)
{
    memset(m, 0, sizeof *m);
    m->fd = -1;
    m->watcher_fd = -1;
    m->fusermount_fd = -1;
}

int fsp_mount_create(const char *mountpoint,
                     const struct fsp_mount_options *opt, struct fsp_mount *m,
                     char *errmsg, size_t errsize)
{
    static const struct fsp_mount_options no_options;
    struct fsp_mount_request rq = {
        .given = mountpoint ? mountpoint : "",
        .opt = opt ? opt : &no_options,
        .privileged = geteuid() == 0,
        .errmsg = errmsg,
        .errsize = errmsg ? errsize : 0,
    };
    int err;

    if (rq.errsize > 0)
        errmsg[0] = '\0';
    reset_mount(m);
    fsp_shell_quote(rq.given, rq.shown, sizeof rq.shown);

    if (rq.given[0] == '\0') {
        err = fail(&rq, -EINVAL, "mount point is empty: give the directory "
                   "to mount on, for example /mnt/fsp");
        goto out;
    }
    err = fsp_mount_check_names(&rq);
    if (err)
        goto out;
    err = fsp_mount_check_root_options(&rq);
    if (err)
        goto out;
    err = fsp_mount_check_fuse_device(&rq);
    if (err)
        goto out;
    err = fsp_mount_check_mountpoint(&rq, &m->mountpoint);
    if (err)
        goto out;
    if (rq.privileged)
        err = fsp_mount_as_root(&rq, m);
    else
        err = fsp_mount_with_fusermount(&rq, m);
    if (err == 0 && rq.opt->auto_unmount)
        err = fsp_mount_start_unmount_watcher(&rq, m);

out:
    if (err)
        fsp_mount_destroy(m);           /* unmounts if need be */
    return err;
}

int fsp_mount_unmount(struct fsp_mount *m)
{
    int err;

    if (m == NULL || m->mountpoint == NULL || m->id.conn_id == 0)
        return 0;
    err = fsp_our_mount_is_on_top(m->mountpoint, &m->id);
    if (err <= 0)
        return err;                     /* gone already, covered, or -errno */
    if (m->via_fusermount)
        return fsp_mount_run_fusermount_unmount(m->mountpoint);
    if (umount2(m->mountpoint, MNT_DETACH) < 0)
        return -errno;
    return 0;
}

void fsp_mount_destroy(struct fsp_mount *m)
{
    if (m == NULL)
        return;
    fsp_mount_unmount(m);
    if (m->fd >= 0)
        close(m->fd);
    /* Tell the watcher that the mount is seen to, so that it touches
     * nothing even if it runs long after (held back, or slow to be
     * scheduled) when another volume is mounted on the path. */
    if (m->watcher_fd >= 0) {
        const char done = WATCHER_DONE;
        ssize_t ignored = write(m->watcher_fd, &done, 1);

        (void)ignored;
        close(m->watcher_fd);
    }
    if (m->watcher_pid > 0)
        fsp_mount_reap_child(m->watcher_pid, REAP_TIMEOUT_MS, NULL);
    /* fsp does not keep fusermount3 alive at present (fusermount3's own
     * auto_unmount is not used); should a later version, closing its socket
     * makes it exit. */
    if (m->fusermount_fd >= 0)
        close(m->fusermount_fd);
    if (m->fusermount_pid > 0)
        fsp_mount_reap_child(m->fusermount_pid, REAP_TIMEOUT_MS, NULL);
    free(m->mountpoint);
    reset_mount(m);
}
