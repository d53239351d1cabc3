/**
 * @file selftest_stubs.h
 * What memfs_selftest puts in place of the fsp library: the library
 * functions memfs calls, a directory buffer the test can read back, and
 * the responses of slowio's pending requests.
 */
#ifndef MEMFS_SELFTEST_STUBS_H
#define MEMFS_SELFTEST_STUBS_H

#include <fsp/fsp.h>

#include <stddef.h>
#include <stdint.h>

#define SELFTEST_DIR_BUFFER_MAX 64

/* The library keeps this opaque; the stub's version records what
 * read_directory() added, and says "full" after `capacity` entries. */
struct fsp_dir_buffer {
    size_t capacity;
    size_t count;
    char names[SELFTEST_DIR_BUFFER_MAX][256];
    fsp_file_info_t infos[SELFTEST_DIR_BUFFER_MAX];
};

/* An empty buffer that takes up to @p capacity entries (at most
 * SELFTEST_DIR_BUFFER_MAX). */
void selftest_dir_buffer_init(fsp_dir_buffer_t *buf, size_t capacity);

/* fsp_fs_operation_context() reports @p hint until the next call; 0 (the
 * start) means "no request", and fsp_fs_send_response() then answers
 * -ENOENT as the library does for a hint it does not know. */
void selftest_set_hint(uint64_t hint);
/* The responses fsp_fs_send_response() took, counted, and the last one.
 * Thread-safe: slowio responds from its own thread. Waits up to
 * @p timeout_ms for the count to reach @p count; returns it. */
unsigned selftest_wait_responses(unsigned count, unsigned timeout_ms,
                                 fsp_response_t *last);

#endif /* MEMFS_SELFTEST_STUBS_H */
