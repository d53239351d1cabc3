/**
 * @file memfs_ioctl.c
 * The ioctl and poll callbacks. ioctl serves the file attribute flags of
 * chattr(1) and lsattr(1) (FS_IOC_GETFLAGS, FS_IOC_SETFLAGS,
 * FS_IOC_FSGETXATTR, FS_IOC_FSSETXATTR); memfs_flags_check() says what
 * the two flags memfs honours refuse. poll: memfs's files never block.
 *
 * FS_IMMUTABLE_FL: no change at all to the file (data, size, attributes,
 * extended attributes, names: no unlink, rename or link of it; for a
 * directory, no entry added or removed). FS_APPEND_FL: data may only be
 * appended, the size never cut, the file not unlinked, renamed or linked,
 * its mode, owner and explicit times not changed; a directory gains
 * entries but loses none. The rules are ext4's (fs/namei.c, fs/attr.c,
 * fs/open.c): on a FUSE mount the kernel knows nothing of these flags, so
 * the file system applies them all, open(2) included. The kernel checks
 * CAP_LINUX_IMMUTABLE before either flag changes, and ownership before
 * any change (fs/file_attr.c).
 */
#include "memfs_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <poll.h>
#include <string.h>

/* The flags memfs keeps: the two it honours and two it just stores. */
#define KEPT_FLAGS (FS_IMMUTABLE_FL | FS_APPEND_FL | FS_NODUMP_FL | \
                    FS_NOATIME_FL)

int memfs_flags_check(const struct memfs_node *node, enum memfs_change what)
{
    uint32_t f = node->attr_flags;

    if (f & FS_IMMUTABLE_FL)
        return what == MEMFS_CHANGE_APPEND || what == MEMFS_CHANGE_DATA ||
               what == MEMFS_CHANGE_SIZE || what == MEMFS_CHANGE_ATTR ||
               what == MEMFS_CHANGE_TIMES_NOW || what == MEMFS_CHANGE_NAME ||
               what == MEMFS_CHANGE_DIR_ADD ||
               what == MEMFS_CHANGE_DIR_REMOVE
                   ? -EPERM : 0;
    if (f & FS_APPEND_FL)
        return what == MEMFS_CHANGE_DATA || what == MEMFS_CHANGE_SIZE ||
               what == MEMFS_CHANGE_ATTR || what == MEMFS_CHANGE_NAME ||
               what == MEMFS_CHANGE_DIR_REMOVE
                   ? -EPERM : 0;
    return 0;
}

int memfs_flags_check_open(const struct memfs_node *node, int flags)
{
    if (flags & FSP_OPEN_META || (flags & O_ACCMODE) == O_RDONLY)
        return 0;
    return memfs_flags_check(node, (flags & O_APPEND) ? MEMFS_CHANGE_APPEND
                                                      : MEMFS_CHANGE_DATA);
}

/* struct fsxattr's flags for memfs's: the two it honours, and the same
 * names for the two it stores. */
static uint32_t xflags_of(uint32_t flags)
{
    return ((flags & FS_IMMUTABLE_FL) ? FS_XFLAG_IMMUTABLE : 0) |
           ((flags & FS_APPEND_FL) ? FS_XFLAG_APPEND : 0) |
           ((flags & FS_NODUMP_FL) ? FS_XFLAG_NODUMP : 0) |
           ((flags & FS_NOATIME_FL) ? FS_XFLAG_NOATIME : 0);
}

static int flags_of_xflags(uint32_t xflags, uint32_t *flags)
{
    if (xflags & ~(uint32_t)(FS_XFLAG_IMMUTABLE | FS_XFLAG_APPEND |
                             FS_XFLAG_NODUMP | FS_XFLAG_NOATIME))
        return -EOPNOTSUPP;
    *flags = ((xflags & FS_XFLAG_IMMUTABLE) ? FS_IMMUTABLE_FL : 0) |
             ((xflags & FS_XFLAG_APPEND) ? FS_APPEND_FL : 0) |
             ((xflags & FS_XFLAG_NODUMP) ? FS_NODUMP_FL : 0) |
             ((xflags & FS_XFLAG_NOATIME) ? FS_NOATIME_FL : 0);
    return 0;
}

static void set_flags(struct memfs_node *node, uint32_t flags)
{
    node->attr_flags = flags;
    node->ctime = memfs_now();
}

int memfs_op_ioctl(fsp_fs_t *fs, void *file_ctx, uint32_t cmd,
                   const void *in, size_t in_size, void *out, size_t out_size,
                   size_t *bytes_transferred)
{
    struct memfs *m = memfs_of(fs);
    struct memfs_node *node = file_ctx;
    struct fsxattr fa;
    uint32_t flags;
    int err = 0;

    memfs_write_lock(m);
    switch (cmd) {
    case FS_IOC_GETFLAGS:       /* the kernel passes an int, not a long */
        if (out_size < sizeof flags) {
            err = -EINVAL;
            break;
        }
        flags = node->attr_flags;
        memcpy(out, &flags, sizeof flags);
        *bytes_transferred = sizeof flags;
        break;
    case FS_IOC_SETFLAGS:
        if (in_size < sizeof flags) {
            err = -EINVAL;
            break;
        }
        memcpy(&flags, in, sizeof flags);
        if (flags & ~(uint32_t)KEPT_FLAGS) {
            err = -EOPNOTSUPP;
            break;
        }
        set_flags(node, flags);
        break;
    case FS_IOC_FSGETXATTR:
        if (out_size < sizeof fa) {
            err = -EINVAL;
            break;
        }
        memset(&fa, 0, sizeof fa);
        fa.fsx_xflags = xflags_of(node->attr_flags);
        memcpy(out, &fa, sizeof fa);
        *bytes_transferred = sizeof fa;
        break;
    case FS_IOC_FSSETXATTR:
        if (in_size < sizeof fa) {
            err = -EINVAL;
            break;
        }
        memcpy(&fa, in, sizeof fa);
        if (fa.fsx_extsize || fa.fsx_projid || fa.fsx_cowextsize) {
            err = -EOPNOTSUPP;
            break;
        }
        err = flags_of_xflags(fa.fsx_xflags, &flags);
        if (err == 0)
            set_flags(node, flags);
        break;
    default:
        err = -ENOTTY;
    }
    memfs_unlock(m);
    return err;
}

/* Regular files, directories and the rest: always ready, as on tmpfs.
 * The kernel's poll handle is not kept: nothing here ever becomes ready
 * later. */
int memfs_op_poll(fsp_fs_t *fs, void *file_ctx, uint64_t kh,
                  uint32_t events, uint32_t *revents)
{
    (void)fs;
    (void)file_ctx;
    (void)kh;
    *revents = events & (POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM);
    return 0;
}
