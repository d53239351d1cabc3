/*
 * mount_root.c - mounting as root: open /dev/fuse and call mount(2) with
 * the descriptor and the options in its data string, then find the new
 * mount in /proc/self/mountinfo. Each failure is a message that names the
 * cause and the fix.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

/* Root only: an ordinary user's descriptor comes from fusermount3. */
static int open_fuse_device(struct fsp_mount_request *rq, int *fd)
{
    *fd = open(FUSE_DEVICE, O_RDWR | O_CLOEXEC);
    if (*fd >= 0)
        return 0;
    switch (errno) {
    case EACCES:
    case EPERM:
        return fail(rq, -errno, FUSE_DEVICE " cannot be opened, even by root "
                    "(%s): a security policy forbids it (a container's device "
                    "rules, SELinux or AppArmor); run the container with "
                    "--device /dev/fuse, or allow the device in the policy",
                    strerror(errno));
    case ENODEV:
    case ENXIO:
        return fail(rq, -ENODEV, FUSE_DEVICE " has no driver behind it (%s): "
                    "load the fuse module (modprobe fuse)", strerror(errno));
    default:
        return fail(rq, -errno, FUSE_DEVICE " cannot be opened (%s): check "
                    "the device with ls -l " FUSE_DEVICE, strerror(errno));
    }
}

static int explain_mount_error(struct fsp_mount_request *rq, int e,
                               const char *data)
{
    const char *s = rq->shown;

    switch (e) {
    case EPERM:
        return fail(rq, -EPERM, "mount point %s: mount(2) was refused "
                    "(Operation not permitted): this process lacks "
                    "CAP_SYS_ADMIN (a container without --cap-add SYS_ADMIN, "
                    "or a user namespace that does not own the mount); grant "
                    "the capability, or run as an ordinary user, which mounts "
                    "through fusermount3", s);
    case EACCES:
        return fail(rq, -EACCES, "mount point %s: mount(2) was denied "
                    "(Permission denied) by a security policy (AppArmor, "
                    "SELinux or seccomp): allow FUSE mounts in that policy", s);
    case ENODEV:
        return fail(rq, -ENODEV, FUSE_DEVICE ": the kernel knows no fuse file "
                    "system type: load the fuse module (modprobe fuse)");
    case EINVAL:
        return fail(rq, -EINVAL, "mount point %s: the kernel rejected the "
                    "mount options '%s' (see dmesg for its reason): check "
                    "max_read and the other options", s, data);
    case ENOENT:
    case ENOTDIR:
        return fail(rq, -e, "mount point %s disappeared while mounting: "
                    "create it again with mkdir -p %s", s, s);
    default:
        return fail(rq, -e, "mount point %s: mount(2) failed (%s): see "
                    "dmesg for the kernel's reason", s, strerror(e));
    }
}

int fsp_mount_as_root(struct fsp_mount_request *rq, struct fsp_mount *m)
{
    const struct fsp_mount_options *opt = rq->opt;
    unsigned long flags = MS_NOSUID | MS_NODEV;
    char data[256], type[64], maxread[32] = "";
    int err;

    err = open_fuse_device(rq, &m->fd);
    if (err)
        return err;
    if (opt->read_only)
        flags |= MS_RDONLY;
    if (opt->max_read)
        snprintf(maxread, sizeof maxread, ",max_read=%u", opt->max_read);
    snprintf(data, sizeof data,
             "fd=%d,rootmode=40000,user_id=%u,group_id=%u%s%s%s", m->fd,
             (unsigned)getuid(), (unsigned)getgid(),
             opt->default_permissions ? ",default_permissions" : "",
             opt->allow_other ? ",allow_other" : "", maxread);
    snprintf(type, sizeof type, "fuse.%s", rq->fs_name);

    err = mount(rq->source, m->mountpoint, type, flags, data);
    if (err < 0 && errno == ENODEV)     /* a kernel without subtypes */
        err = mount(rq->source, m->mountpoint, "fuse", flags, data);
    if (err < 0)
        return explain_mount_error(rq, errno, data);

    /* Not stat(): until the daemon answers INIT, that would block. */
    err = fsp_mount_identify(m->mountpoint, &m->id);
    if (err < 0) {
        umount2(m->mountpoint, MNT_DETACH);     /* just made: on top */
        return fail(rq, -EIO, "mount point %s was mounted but does not "
                    "appear as a FUSE mount in /proc/self/mountinfo (%s): "
                    "check that /proc belongs to this mount namespace",
                    rq->shown, strerror(-err));
    }
    return 0;
}
