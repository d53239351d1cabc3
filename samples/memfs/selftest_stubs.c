/**
 * @file selftest_stubs.c
 * Stand-ins for the fsp library, so that memfs_selftest runs memfs's
 * callbacks without a kernel, a mount or libfsp.
 *
 * The trick is the fsp_fs_t pointer: the self-test passes the struct memfs
 * itself, cast, and fsp_fs_user_context() hands it back.
 */
#include "selftest_stubs.h"

#include <string.h>

void *fsp_fs_user_context(fsp_fs_t *fs)
{
    return fs;
}

bool fsp_dir_buffer_add(fsp_dir_buffer_t *buf, const char *name,
                        const fsp_file_info_t *info)
{
    if (buf->count >= buf->capacity)
        return false;
    strncpy(buf->names[buf->count], name, sizeof buf->names[0] - 1);
    buf->names[buf->count][sizeof buf->names[0] - 1] = '\0';
    buf->infos[buf->count] = *info;
    buf->count++;
    return true;
}

void selftest_dir_buffer_init(fsp_dir_buffer_t *buf, size_t capacity)
{
    memset(buf, 0, sizeof *buf);
    buf->capacity = capacity < SELFTEST_DIR_BUFFER_MAX
                        ? capacity : SELFTEST_DIR_BUFFER_MAX;
}
