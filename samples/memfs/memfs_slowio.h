/**
 * @file memfs_slowio.h
 * memfs's "slowio" mode (WinFsp memfs's): a share of reads, writes and
 * directory reads (with slowio_all, of every callback that may) is
 * completed asynchronously. The callback returns
 * FSP_PENDING and a thread of this module does the operation after a
 * random delay, then answers with fsp_fs_send_response().
 *
 * With a maximum delay of 0 the callback does the operation itself and
 * sends the response *before* it returns FSP_PENDING: the "early
 * response" that fsp must handle too.
 */
#ifndef MEMFS_SLOWIO_H
#define MEMFS_SLOWIO_H

#include <fsp/fsp.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct memfs_slowio;

/** The operations done now, by the callback or later by the thread; the
 *  same signatures as the interface's read, write and read_directory. */
struct memfs_slowio_ops {
    int (*read)(fsp_fs_t *fs, void *file_ctx, void *buf, uint64_t offset,
                size_t length, size_t *bytes_transferred);
    int (*write)(fsp_fs_t *fs, void *file_ctx, const void *buf,
                 uint64_t offset, size_t length, int flags,
                 size_t *bytes_transferred);
    int (*read_directory)(fsp_fs_t *fs, void *file_ctx, const char *marker,
                          fsp_dir_buffer_t *buf);
};

/**
 * Start slowio: @p percent (1-100) of the operations are delayed by
 * [min_delay_ms, max_delay_ms]. The thread starts only if max_delay_ms
 * is above 0.
 * @return 0, -ENOMEM, or a pthread_create error
 */
int memfs_slowio_create(uint32_t percent, uint32_t min_delay_ms,
                        uint32_t max_delay_ms,
                        const struct memfs_slowio_ops *ops,
                        struct memfs_slowio **out);

/** Complete every queued operation at once and end the thread. Idempotent:
 *  called when fsp's dispatcher stops, and again by memfs_slowio_delete. */
void memfs_slowio_stop(struct memfs_slowio *s);

/** Stop, then free. NULL is fine. */
void memfs_slowio_delete(struct memfs_slowio *s);

/**
 * The callbacks: each either serves the request at once through @p ops
 * (the share not picked, or when the queue is out of memory) and returns
 * its result, or returns FSP_PENDING and responds later (or, with a zero
 * maximum delay, has already responded).
 */
int memfs_slowio_read(struct memfs_slowio *s, fsp_fs_t *fs, void *file_ctx,
                      void *buf, uint64_t offset, size_t length,
                      size_t *bytes_transferred);
int memfs_slowio_write(struct memfs_slowio *s, fsp_fs_t *fs, void *file_ctx,
                       const void *buf, uint64_t offset, size_t length,
                       int flags, size_t *bytes_transferred);
int memfs_slowio_read_directory(struct memfs_slowio *s, fsp_fs_t *fs,
                                void *file_ctx, const char *marker,
                                fsp_dir_buffer_t *buf);

/**
 * slowio_all: a callback other than read, write and read_directory has
 * done its work at once, and @p answer holds its result (error and
 * out-parameters). With slowio's chance the answer is sent later (or,
 * with a zero maximum delay, before this returns) and FSP_PENDING is
 * returned; otherwise answer->error is, and the callback's own
 * out-parameters stand.
 */
int memfs_slowio_answer_later(struct memfs_slowio *s, fsp_fs_t *fs,
                              const fsp_response_t *answer);

/**
 * Replace the callbacks of @p iface that may complete later by ones that
 * call @p iface's own and answer through memfs_slowio_answer_later()
 * (memfs_slowio_all.c). The originals are kept in @p base, which must
 * live as long as the volume.
 */
void memfs_slowio_wrap_all(fsp_fs_interface_t *iface,
                           fsp_fs_interface_t *base);

#endif /* MEMFS_SLOWIO_H */
