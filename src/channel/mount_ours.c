/*
 * mount_ours.c - which mount is ours: reading /proc/self/mountinfo for what
 * is mounted on a path, the connection id and unique id that name our
 * mount, whether it is still there and on top, and aborting its connection
 * through fusectl. The unmount paths and the watcher ask here before they
 * touch a path. No malloc, no stdio: the watcher, a fork child, calls it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include "mount_internal.h"
#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define FUSECTL_DIR           "/sys/fs/fuse/connections"

static void lookup_visit(const struct fsp_mountinfo_entry *e, void *ctx)
{
    struct fsp_mount_lookup *lk = ctx;

    if (strcmp(e->mount_point, lk->path) != 0)
        return;
    lk->found = true;               /* the last one on a path is on top */
    lk->top_major = e->major;
    lk->top_minor = e->minor;
    copy_truncated(lk->top_fstype, sizeof lk->top_fstype, e->fstype);
    copy_truncated(lk->top_source, sizeof lk->top_source, e->source);
    if (lk->match_dev && e->major == lk->dev_major && e->minor == lk->dev_minor)
        lk->dev_found = true;
}

int fsp_mount_lookup_path(struct fsp_mount_lookup *lk)
{
    lk->found = false;
    lk->dev_found = false;
    return fsp_mountinfo_foreach(lookup_visit, lk);
}

static struct fsp_mount_lookup lookup_for_connection(const char *path,
                                                     unsigned conn_id)
{
    struct fsp_mount_lookup lk = {
        .path = path,
        .match_dev = true,
        .dev_major = conn_id >> FSP_KDEV_MINOR_BITS,
        .dev_minor = conn_id & ((1u << FSP_KDEV_MINOR_BITS) - 1),
    };
    return lk;
}

static bool top_is_connection(const struct fsp_mount_lookup *lk)
{
    return lk->found && lk->top_major == lk->dev_major &&
           lk->top_minor == lk->dev_minor;
}

int fsp_mount_find_connection_id(const char *path, unsigned *conn_id)
{
    struct fsp_mount_lookup lk = { .path = path };
    int err = fsp_mount_lookup_path(&lk);

    if (err < 0)
        return err;
    if (!lk.found || !fsp_mountinfo_is_fuse(lk.top_fstype))
        return -ENOENT;
    *conn_id = fsp_mountinfo_conn_id(lk.top_major, lk.top_minor);
    return 0;
}

void fsp_mount_abort_connection(unsigned conn_id)
{
    static const char head[] = FUSECTL_DIR "/", tail[] = "/abort";
    char path[sizeof head + 16 + sizeof tail], digits[16], *p = path;
    int n = 0, fd;

    do {
        digits[n++] = (char)('0' + conn_id % 10);
        conn_id /= 10;
    } while (conn_id);
    memcpy(p, head, sizeof head - 1);
    p += sizeof head - 1;
    while (n)
        *p++ = digits[--n];
    memcpy(p, tail, sizeof tail);

    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t ignored = write(fd, "1", 1);
        (void)ignored;
        close(fd);
    }
}

/* ------------------------------------------------------------------ */
/* Which mount is ours                                                 */
/* ------------------------------------------------------------------ */

/*
 * A mount is named by two numbers. The connection id (the device number of
 * the FUSE superblock) names it in /proc/self/mountinfo and in fusectl, but
 * the kernel hands a freed device number to the next mount at once: a
 * volume mounted where ours was just unmounted often gets the same one.
 * The 64-bit unique mount id (statx STATX_MNT_ID_UNIQUE, Linux 6.8) is
 * never reused while the system runs. So the unique id decides whether our
 * mount still exists, and only while it does may the connection id be
 * trusted to name our connection (our superblock holds its device number).
 * Kernels without unique ids fall back to the connection id alone.
 */
#ifndef __NR_statmount
#define __NR_statmount 457      /* the same on every architecture */
#endif
#define STATMOUNT_SB_BASIC_MASK 0x00000001U

/* struct mnt_id_req of <linux/mount.h>, first version (24 bytes). */
struct fsp_mnt_id_req {
    uint32_t size;
    uint32_t spare;
    uint64_t mnt_id;
    uint64_t param;
};
_Static_assert(sizeof(struct fsp_mnt_id_req) == 24, "MNT_ID_REQ_SIZE_VER0");

/* Does the mount with unique id @id still exist (in our namespace)?
 * 1 yes, 0 no, -errno if the kernel cannot tell. */
static int unique_mount_exists(uint64_t id)
{
    struct fsp_mnt_id_req req = {
        .size = sizeof req, .mnt_id = id, .param = STATMOUNT_SB_BASIC_MASK,
    };
    uint64_t buf[64];           /* struct statmount and then some */

    if (syscall(__NR_statmount, &req, buf, sizeof buf, 0) == 0)
        return 1;
    return errno == ENOENT ? 0 : -errno;
}

int fsp_our_mount_is_on_top(const char *path, const struct fsp_mount_id *id)
{
    struct fsp_mount_lookup lk = lookup_for_connection(path, id->conn_id);
    int err;

    if (id->unique != 0) {
        if (fsp_mount_unique_id(path) == id->unique)
            return 1;
        err = unique_mount_exists(id->unique);
        if (err <= 0)
            return err;     /* gone, or cannot tell: touch nothing */
        /* Ours exists, so its connection id is still ours: mountinfo
         * tells whether it is covered or the top could not be read. */
    }
    err = fsp_mount_lookup_path(&lk);
    if (err < 0)
        return err;
    if (!lk.dev_found)
        return 0;
    return top_is_connection(&lk) ? 1 : -EBUSY;
}

int fsp_mount_identify(const char *path, struct fsp_mount_id *id)
{
    int err = fsp_mount_find_connection_id(path, &id->conn_id);

    if (err < 0)
        return err;
    id->unique = fsp_mount_unique_id(path);
    return 0;
}
