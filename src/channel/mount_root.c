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
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>

#include "fuse_abi.h"

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

/* The volume's server of the session while mount(2) runs. */
struct init_server {
    const struct fsp_mount_options *opt;
    int fd;
    int stop_fd;
    pthread_t thread;
};

static void *init_server_main(void *arg)
{
    struct init_server *s = arg;

    s->opt->serve_during_mount(s->opt->serve_ctx, s->fd, s->stop_fd);
    return NULL;
}

/* Ask for synchronous INIT and start its server. Returns true when both
 * worked; false leaves INIT to the workers, on a descriptor without the
 * flag (a flagged one whose server did not start would hang mount(2), so
 * it is swapped for a fresh one). */
static bool start_init_server(struct fsp_mount_request *rq,
                              struct fsp_mount *m, struct init_server *s)
{
    s->opt = rq->opt;
    s->fd = m->fd;
    s->stop_fd = -1;
    if (!rq->opt->serve_during_mount ||
        ioctl(m->fd, FUSE_DEV_IOC_SYNC_INIT) != 0)
        return false; /* ENOTTY: a kernel before 6.18 */
    s->stop_fd = eventfd(0, EFD_CLOEXEC);
    if (s->stop_fd >= 0 &&
        pthread_create(&s->thread, NULL, init_server_main, s) == 0)
        return true;
    if (s->stop_fd >= 0)
        close(s->stop_fd);
    s->stop_fd = -1;
    close(m->fd);
    m->fd = open(FUSE_DEVICE, O_RDWR | O_CLOEXEC);
    return false;
}

static void stop_init_server(struct init_server *s)
{
    uint64_t one = 1;

    if (write(s->stop_fd, &one, sizeof one) != sizeof one)
        return; /* cannot happen with an eventfd; never join a runner */
    pthread_join(s->thread, NULL);
    close(s->stop_fd);
}

/* The mount(2) flags: nosuid and nodev unless asked otherwise, the access
 * time flag (relatime is what the kernel picks when given none, so it is
 * given explicitly only to say the same thing plainly). */
static unsigned long mount_flags(const struct fsp_mount_options *opt)
{
    unsigned long flags = 0;

    if (!opt->allow_setuid)
        flags |= MS_NOSUID;
    if (!opt->allow_devices)
        flags |= MS_NODEV;
    if (opt->read_only)
        flags |= MS_RDONLY;
    switch (opt->atime) {
    case FSP_MOUNT_STRICTATIME:
        flags |= MS_STRICTATIME;
        break;
    case FSP_MOUNT_NOATIME:
        flags |= MS_NOATIME;
        break;
    default:
        flags |= MS_RELATIME;
        break;
    }
    if (opt->nodiratime)
        flags |= MS_NODIRATIME;
    return flags;
}

int fsp_mount_as_root(struct fsp_mount_request *rq, struct fsp_mount *m)
{
    const struct fsp_mount_options *opt = rq->opt;
    unsigned long flags = mount_flags(opt);
    char data[256], type[64], maxread[32] = "";
    struct init_server server;
    bool serving;
    int err, saved_errno;

    err = open_fuse_device(rq, &m->fd);
    if (err)
        return err;
    if (opt->max_read)
        snprintf(maxread, sizeof maxread, ",max_read=%u", opt->max_read);
    snprintf(data, sizeof data,
             "fd=%d,rootmode=40000,user_id=%u,group_id=%u%s%s%s", m->fd,
             (unsigned)getuid(), (unsigned)getgid(),
             opt->default_permissions ? ",default_permissions" : "",
             opt->allow_other ? ",allow_other" : "", maxread);
    if (*rq->fs_name)
        snprintf(type, sizeof type, PLAIN_FUSE_TYPE ".%s", rq->fs_name);
    else
        snprintf(type, sizeof type, PLAIN_FUSE_TYPE);

    serving = start_init_server(rq, m, &server);
    if (m->fd < 0)
        return open_fuse_device(rq, &m->fd);
    err = mount(rq->source, m->mountpoint, type, flags, data);
    if (err < 0 && errno == ENODEV && *rq->fs_name) /* without subtypes */
        err = mount(rq->source, m->mountpoint, PLAIN_FUSE_TYPE, flags, data);
    saved_errno = errno;
    if (serving)
        stop_init_server(&server);
    if (err < 0)
        return explain_mount_error(rq, saved_errno, data);
    m->sync_init = serving;

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
