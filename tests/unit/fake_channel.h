/*
 * fake_channel.h - the parts of a test channel (struct fsp_channel_ops)
 * that the unit tests' fake channels share: nothing to detach (only a
 * pending WRITE needs it), nothing to destroy. Each test keeps its own
 * send(), which records what it needs of the replies.
 */
#ifndef FSP_TEST_FAKE_CHANNEL_H
#define FSP_TEST_FAKE_CHANNEL_H

#include <errno.h>
#include <stdlib.h>

#include "channel.h"

static inline int fake_channel_detach(struct fsp_channel *ch, void **buf)
{
    (void)ch;
    *buf = NULL;
    return -ENOTSUP;
}

static inline void fake_channel_free_detached(void *buf)
{
    free(buf);
}

static inline void fake_channel_destroy(struct fsp_channel *ch)
{
    (void)ch;
}

#endif /* FSP_TEST_FAKE_CHANNEL_H */
