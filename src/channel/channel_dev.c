/*
 * channel_dev.c - the /dev/fuse channel: read(2) requests, writev(2)
 * replies, one cloned descriptor per worker.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "channel.h"
#include "fuse_abi.h"

struct dev_channel {
    struct fsp_channel base;
    int fd;
    int owns_fd;
    size_t bufsize;
    void *buf;
};

static ssize_t dev_receive(struct fsp_channel *ch, void **buf)
{
    struct dev_channel *dc = (struct dev_channel *)ch;
    ssize_t n = read(dc->fd, dc->buf, dc->bufsize);

    if (n < 0)
        return -errno;
    if (n == 0)
        return -ENODEV; /* never seen in practice; treat as end */
    *buf = dc->buf;
    return n;
}

static int dev_send(struct fsp_channel *ch, const struct iovec *iov,
                    int iovcnt)
{
    struct dev_channel *dc = (struct dev_channel *)ch;
    ssize_t n;

    do
        n = writev(dc->fd, iov, iovcnt);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

/* The detached buffer is a plain malloc'd one: the channel allocates its
 * successor first, so a failure leaves everything as it was. */
static int dev_detach(struct fsp_channel *ch, void **buf)
{
    struct dev_channel *dc = (struct dev_channel *)ch;
    void *fresh = malloc(dc->bufsize);

    *buf = NULL;
    if (!fresh)
        return -ENOMEM;
    *buf = dc->buf;
    dc->buf = fresh;
    return 0;
}

static void dev_free_detached(void *buf)
{
    free(buf);
}

static void dev_destroy(struct fsp_channel *ch)
{
    struct dev_channel *dc = (struct dev_channel *)ch;

    if (!dc)
        return;
    if (dc->owns_fd && dc->fd >= 0)
        close(dc->fd);
    free(dc->buf);
    free(dc);
}

static const struct fsp_channel_ops dev_ops = {
    .kind = "dev",
    .receive = dev_receive,
    .send = dev_send,
    .detach = dev_detach,
    .free_detached = dev_free_detached,
    .destroy = dev_destroy,
};

int fsp_channel_dev_create(int session_fd, int clone, size_t bufsize,
                           struct fsp_channel **pch)
{
    struct dev_channel *dc = NULL;
    int err = 0;

    *pch = NULL;
    dc = calloc(1, sizeof *dc);
    if (!dc) {
        err = -ENOMEM;
        goto out;
    }
    dc->base.ops = &dev_ops;
    dc->fd = -1;
    dc->bufsize = bufsize;
    dc->buf = malloc(bufsize);
    if (!dc->buf) {
        err = -ENOMEM;
        goto out;
    }
    if (clone) {
        uint32_t master = (uint32_t)session_fd;

        dc->fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
        if (dc->fd < 0) {
            err = -errno;
            goto out;
        }
        dc->owns_fd = 1;
        if (ioctl(dc->fd, FUSE_DEV_IOC_CLONE, &master) < 0) {
            err = -errno;
            goto out;
        }
    } else {
        dc->fd = session_fd;
    }
    *pch = &dc->base;
    dc = NULL;

out:
    dev_destroy(dc ? &dc->base : NULL);
    return err;
}
