/*
 * mount_check.c - the checks before mounting that need no mount point:
 * the file system's name and source (they become the type fuse.NAME, or
 * the plain type fuse for an empty name, and the source in /proc/mounts),
 * the options only root may have, and /dev/fuse (there, the FUSE device,
 * and readable and writable by an ordinary user). Each failure is a
 * message that names the cause and the fix.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount_internal.h"
#include "mountinfo.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define FUSE_DEVICE_MAJOR     10
#define FUSE_DEVICE_MINOR     229
#define DEFAULT_FS_NAME       "fsp"

int fsp_mount_check_root_options(struct fsp_mount_request *rq)
{
    const struct fsp_mount_options *opt = rq->opt;

    /* fusermount3 would mount anyway, nosuid and nodev, with a warning
     * nobody may see. */
    if (rq->privileged || (!opt->allow_setuid && !opt->allow_devices))
        return 0;
    return fail(rq, -EPERM, "mount point %s: -o %s needs root: fusermount3 "
                "mounts an ordinary user's volume nosuid and nodev, whatever "
                "it is asked; mount as root, or leave the option out",
                rq->shown, !opt->allow_devices  ? "suid"
                           : !opt->allow_setuid ? "dev"
                                                : "suid,dev");
}

int fsp_mount_check_names(struct fsp_mount_request *rq)
{
    const struct fsp_mount_options *opt = rq->opt;
    const char *p;

    /* An empty name is an empty subtype: the type is plain "fuse". */
    rq->fs_name = opt->fs_name ? opt->fs_name : DEFAULT_FS_NAME;
    rq->source = opt->source && *opt->source ? opt->source
                 : *rq->fs_name              ? rq->fs_name
                                             : PLAIN_FUSE_TYPE;
    for (p = rq->fs_name; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._-+", *p))
            break;
    if (*p || strlen(rq->fs_name) > 32)
        return fail(rq, -EINVAL, "file system name '%s' is not valid for "
                    "the type fuse.NAME: use at most 32 letters, digits, "
                    "'.', '_', '-' or '+' (for example memfs), or no name "
                    "for the plain type fuse", rq->fs_name);
    for (p = rq->source; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            break;
    if (*p)
        return fail(rq, -EINVAL, "file system source '%s' holds a control "
                    "character, which /proc/mounts cannot show: use printable "
                    "characters only", rq->source);
    return 0;
}

int fsp_mount_check_fuse_device(struct fsp_mount_request *rq)
{
    struct stat st;

    if (stat(FUSE_DEVICE, &st) < 0) {
        if (errno == ENOENT)
            return fail(rq, -ENOENT, FUSE_DEVICE " does not exist: load the "
                        "fuse module (modprobe fuse) or, in a container, pass "
                        "the device in (--device /dev/fuse)");
        return fail(rq, -errno, FUSE_DEVICE " cannot be examined (%s): make "
                    "sure /dev is mounted and readable", strerror(errno));
    }
    if (!S_ISCHR(st.st_mode) || major(st.st_rdev) != FUSE_DEVICE_MAJOR ||
        minor(st.st_rdev) != FUSE_DEVICE_MINOR) {
        char what[64];

        if (S_ISCHR(st.st_mode))
            snprintf(what, sizeof what, "the character device %u:%u",
                     major(st.st_rdev), minor(st.st_rdev));
        else
            snprintf(what, sizeof what, "%s", fsp_file_kind(st.st_mode, "not a directory"));
        return fail(rq, -ENODEV, FUSE_DEVICE " is not the FUSE device (it "
                    "is %s, not the character device 10:229): recreate it as "
                    "root: rm " FUSE_DEVICE " && mknod -m 0666 " FUSE_DEVICE
                    " c 10 229", what);
    }
    /* fusermount3 is setuid root, but it opens the device with the user's
     * own permissions (it drops to the real uid first): an ordinary user
     * needs read and write access, which distributions give to everyone. */
    if (!rq->privileged && access(FUSE_DEVICE, R_OK | W_OK) < 0 &&
        errno == EACCES)
        return fail(rq, -EACCES, FUSE_DEVICE " is not readable and writable "
                    "by you (uid %u; mode %04o, owner uid %u), and fusermount3 "
                    "opens it with your permissions: as root, chmod 0666 "
                    FUSE_DEVICE " (the usual mode; in a container pass "
                    "--device /dev/fuse), or mount as root", (unsigned)getuid(),
                    (unsigned)(st.st_mode & 07777), (unsigned)st.st_uid);
    return 0;
}
