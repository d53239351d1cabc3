/*
 * mount_point.c - the mount point, resolved and checked before mounting:
 * its canonical path (without touching its last component, which may be a
 * hung mount), whether something is mounted there already (and whether
 * that FUSE mount's daemon still answers), what fusermount3 demands of an
 * ordinary user's mount point, and that it is an empty directory. Each
 * failure is a message that names the cause and the fix.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount_internal.h"
#include "mountinfo.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#define PROBE_TIMEOUT_MS      1000  /* statfs() of an existing FUSE mount */

/* Why the mount point (or the directory holding it) cannot be resolved. */
static int explain_resolve_error(struct fsp_mount_request *rq, int e)
{
    const char *s = rq->shown;

    switch (e) {
    case ENOENT:
        return fail(rq, -ENOENT, "mount point %s does not exist: create it "
                    "with mkdir -p %s", s, s);
    case ENOTDIR:
        return fail(rq, -ENOTDIR, "mount point %s is not a directory: part "
                    "of its path is a file; give the path of a directory", s);
    case EACCES:
        return fail(rq, -EACCES, "mount point %s cannot be reached: a "
                    "directory above it denies you search (x) permission; use "
                    "a directory you can reach, for example under your home "
                    "directory", s);
    case ELOOP:
        return fail(rq, -ELOOP, "mount point %s cannot be resolved: its "
                    "symbolic links loop; fix the links or give the real "
                    "directory", s);
    case ENAMETOOLONG:
        return fail(rq, -ENAMETOOLONG, "mount point %s is too long a path: "
                    "choose a shorter one", s);
    case ENOTCONN:
        return fail(rq, -ENOTCONN, "mount point %s lies under a FUSE mount "
                    "whose daemon is gone ('Transport endpoint is not "
                    "connected'); find it with grep fuse /proc/mounts and "
                    "clear it with fusermount3 -u (or umount -l)", s);
    default:
        return fail(rq, -e, "mount point %s cannot be resolved (%s): check "
                    "the path", s, strerror(e));
    }
}

/* The absolute path of the mount point, without symbolic links in the
 * directories above it. The last component is not touched: if it is a
 * mount already, looking at it could block (a hung FUSE daemon). */
static int resolve_parent(struct fsp_mount_request *rq, char **path)
{
    char copy[PATH_MAX], *slash, *parent;
    const char *dir, *name;
    size_t len = strlen(rq->given);

    *path = NULL;
    if (len >= sizeof copy)
        return explain_resolve_error(rq, ENAMETOOLONG);
    memcpy(copy, rq->given, len + 1);
    while (len > 1 && copy[len - 1] == '/')
        copy[--len] = '\0';
    slash = strrchr(copy, '/');
    if (slash == NULL) {
        dir = ".";
        name = copy;
    } else if (slash == copy) {
        dir = "/";
        name = copy + 1;
    } else {
        *slash = '\0';
        dir = copy;
        name = slash + 1;
    }
    if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
        *path = realpath(rq->given, NULL);     /* "/", "a/.", "..": whole */
        return *path ? 0 : explain_resolve_error(rq, errno);
    }
    parent = realpath(dir, NULL);
    if (parent == NULL)
        return explain_resolve_error(rq, errno);
    if (asprintf(path, "%s%s%s", parent, strcmp(parent, "/") ? "/" : "",
                 name) < 0) {
        *path = NULL;
        free(parent);
        return fail(rq, -ENOMEM, "mount point %s: out of memory", rq->shown);
    }
    free(parent);
    return 0;
}

/* Asks an existing FUSE mount's daemon a question, from a child process
 * that can be killed: if that daemon hangs, or never answered INIT, we would
 * block forever. statfs(), not stat(): the kernel may answer stat() from its
 * attribute cache without asking a dead daemon, but it always sends STATFS
 * (unless the mount is another user's, which it does not let us ask: then we
 * only learn that it is mounted). Returns 0 if the daemon answered (even
 * with an error), -ENOTCONN if it is gone, -ETIMEDOUT if it does not answer. */
static int probe_fuse_mount(const char *path)
{
    int status;
    pid_t pid = fork();

    if (pid < 0)
        return 0;                       /* cannot tell: say "mounted" */
    if (pid == 0) {
        struct statfs sfs;

        _exit(statfs(path, &sfs) == 0 ? 0 : errno == ENOTCONN ? 1 : 2);
    }
    if (!fsp_mount_reap_child(pid, PROBE_TIMEOUT_MS, &status))
        return -ETIMEDOUT;
    return status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 1
               ? -ENOTCONN : 0;
}

static int check_not_mounted(struct fsp_mount_request *rq, const char *path)
{
    struct fsp_mount_lookup lk = { .path = path };
    const char *s = rq->shown;
    int err = fsp_mount_lookup_path(&lk);

    if (err < 0)
        return fail(rq, err, "/proc/self/mountinfo cannot be read (%s): "
                    "mount /proc (mount -t proc proc /proc)", strerror(-err));
    if (!lk.found)
        return 0;
    if (!fsp_mountinfo_is_fuse(lk.top_fstype))
        return fail(rq, -EBUSY, "mount point %s is already a mount point "
                    "(%s from %s): unmount it first (umount %s) or choose "
                    "another directory", s, lk.top_fstype, lk.top_source, s);
    switch (probe_fuse_mount(path)) {
    case -ENOTCONN:
        return fail(rq, -ENOTCONN, "mount point %s is a FUSE mount whose "
                    "daemon is gone ('Transport endpoint is not connected'); "
                    "clear it with: fusermount3 -u %s (or umount -l %s)",
                    s, s, s);
    case -ETIMEDOUT:
        return fail(rq, -EBUSY, "mount point %s is a FUSE mount (%s from %s) "
                    "whose daemon does not answer; stop that daemon, or clear "
                    "the mount with: fusermount3 -u -z %s (or umount -l %s)",
                    s, lk.top_fstype, lk.top_source, s, s);
    default:
        return fail(rq, -EBUSY, "mount point %s is already mounted (%s from "
                    "%s): unmount it first with fusermount3 -u %s, or choose "
                    "another directory", s, lk.top_fstype, lk.top_source, s);
    }
}

/* The checks fusermount3 makes for an ordinary user, made here first so that
 * the message can say what to do. */
static int check_user_may_mount_on(struct fsp_mount_request *rq,
                                   const char *path, const struct stat *st)
{
    const char *s = rq->shown;
    unsigned uid = (unsigned)getuid();

    if ((st->st_mode & S_ISVTX) && st->st_uid != getuid())
        return fail(rq, -EACCES, "mount point %s is a sticky directory owned "
                    "by uid %u, not by you (uid %u), and fusermount3 mounts on "
                    "it only for its owner: use a directory you own, for "
                    "example mkdir -p ~/mnt", s, (unsigned)st->st_uid, uid);
    if (access(path, W_OK) < 0) {
        if (errno == EROFS)
            return fail(rq, -EROFS, "mount point %s is on a read-only file "
                        "system, and fusermount3 mounts only on directories "
                        "you may write to: choose a directory on a writable "
                        "file system", s);
        return fail(rq, -EACCES, "mount point %s is not writable by you "
                    "(uid %u; it belongs to uid %u, mode %04o), and "
                    "fusermount3 mounts only on directories you may write to: "
                    "use a directory you own (mkdir -p ~/mnt), or have root "
                    "run chown %u %s", s, uid, (unsigned)st->st_uid,
                    (unsigned)(st->st_mode & 07777), uid, s);
    }
    if (access(path, X_OK) < 0)
        return fail(rq, -EACCES, "mount point %s cannot be entered by you "
                    "(mode %04o): give yourself search permission with "
                    "chmod u+x %s", s, (unsigned)(st->st_mode & 07777), s);
    return 0;
}

static int check_empty(struct fsp_mount_request *rq, const char *path)
{
    const char *s = rq->shown;
    char first[NAME_MAX + 1] = "";
    struct dirent *de;
    DIR *dir = opendir(path);

    if (dir == NULL) {
        if (errno == EACCES)
            return fail(rq, -EACCES, "mount point %s cannot be listed to "
                        "check that it is empty (Permission denied): make it "
                        "readable (chmod u+r %s) or use the nonempty option",
                        s, s);
        return fail(rq, -errno, "mount point %s cannot be listed to check "
                    "that it is empty (%s): use an empty directory or the "
                    "nonempty option", s, strerror(errno));
    }
    while ((de = readdir(dir)) != NULL) {
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
            copy_truncated(first, sizeof first, de->d_name);
            break;
        }
    }
    closedir(dir);
    if (first[0])
        return fail(rq, -ENOTEMPTY, "mount point %s is not empty (it holds "
                    "'%s'); use an empty directory or the nonempty option",
                    s, first);
    return 0;
}

int fsp_mount_check_mountpoint(struct fsp_mount_request *rq, char **path)
{
    const char *s = rq->shown;
    struct stat st;
    int err, hops;

    err = resolve_parent(rq, path);
    for (hops = 0; err == 0; hops++) {
        char *target;

        /* Before any stat(): on a mount, stat is a request to its daemon. */
        err = check_not_mounted(rq, *path);
        if (err)
            break;
        if (lstat(*path, &st) < 0) {
            err = explain_resolve_error(rq, errno);
            break;
        }
        if (!S_ISLNK(st.st_mode))
            break;
        if (hops > 0) {                 /* realpath() gave us a link? */
            err = explain_resolve_error(rq, ELOOP);
            break;
        }
        target = realpath(*path, NULL);
        if (target == NULL) {
            if (errno == ENOENT)
                err = fail(rq, -ENOENT, "mount point %s is a symbolic link "
                           "to a directory that does not exist: create the "
                           "directory it points to (readlink %s), or give "
                           "another mount point", s, s);
            else
                err = explain_resolve_error(rq, errno);
            break;
        }
        free(*path);
        *path = target;
    }
    if (err)
        return err;
    if (!S_ISDIR(st.st_mode))
        return fail(rq, -ENOTDIR, "mount point %s is not a directory (it is "
                    "%s): mount on a directory, for example mkdir -p %s.d",
                    s, fsp_file_kind(st.st_mode, "not a directory"), s);
    if (!rq->privileged) {
        err = check_user_may_mount_on(rq, *path, &st);
        if (err)
            return err;
    }
    if (!rq->opt->nonempty)
        return check_empty(rq, *path);
    return 0;
}
