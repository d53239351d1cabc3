/**
 * @file selftest_stubs.h
 * What memfs_selftest puts in place of the fsp library: the two library
 * functions memfs calls, and a directory buffer the test can read back.
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

#endif /* MEMFS_SELFTEST_STUBS_H */
