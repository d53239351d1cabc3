/*
 * session.c - what a volume asks of the kernel outside of replies, on the
 * session's /dev/fuse descriptor: notifications (a write with unique 0)
 * and the passthrough backing files (two ioctls). The volume reaches them
 * through the kernel port the api layer sets up (fs_internal.h), never by
 * the descriptor itself.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>

#include "channel.h"
#include "fuse_abi.h"

int fsp_session_notify(int session_fd, const struct iovec *iov, int iovcnt)
{
    if (session_fd < 0)
        return -ENOTCONN;
    return writev(session_fd, iov, iovcnt) < 0 ? -errno : 0;
}

int fsp_session_backing_open(int session_fd, int fd)
{
    struct fuse_backing_map map;
    int id;

    if (session_fd < 0)
        return -ENOTCONN;
    memset(&map, 0, sizeof map);
    map.fd = fd;
    id = ioctl(session_fd, FUSE_DEV_IOC_BACKING_OPEN, &map);
    return id < 0 ? -errno : id;
}

int fsp_session_backing_close(int session_fd, int32_t id)
{
    uint32_t arg = (uint32_t)id;

    /* After the unmount there is no descriptor, and the kernel freed the
     * connection's ids with it. */
    if (session_fd < 0)
        return 0;
    return ioctl(session_fd, FUSE_DEV_IOC_BACKING_CLOSE, &arg) < 0 ? -errno
                                                                    : 0;
}
