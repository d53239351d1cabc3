/**
 * @file selftest_stubs.c
 * Stand-ins for the fsp library, so that memfs_selftest runs memfs's
 * callbacks without a kernel, a mount or libfsp.
 *
 * The trick is the fsp_fs_t pointer: the self-test passes the struct memfs
 * itself, cast, and fsp_fs_user_context() hands it back.
 */
#define _GNU_SOURCE
#include "selftest_stubs.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

void *fsp_fs_user_context(fsp_fs_t *fs)
{
    return fs;
}

/* The self-test's volume is a noatime one: the policy is the library's
 * (tests/unit/test_atime.c), and memfs's use of it is checked on a real
 * mount (tests/integration/mount_options.c). */
bool fsp_fs_atime_due(const fsp_fs_t *fs, bool directory,
                      struct timespec atime, struct timespec mtime,
                      struct timespec ctime, struct timespec now)
{
    (void)fs, (void)directory, (void)atime, (void)mtime, (void)ctime;
    (void)now;
    return false;
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

static pthread_mutex_t response_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t response_cond = PTHREAD_COND_INITIALIZER;
static fsp_operation_context_t current_context;
static unsigned responses;
static fsp_response_t last_response;

void selftest_set_hint(uint64_t hint)
{
    pthread_mutex_lock(&response_lock);
    current_context.hint = hint;
    pthread_mutex_unlock(&response_lock);
}

const fsp_operation_context_t *fsp_fs_operation_context(void)
{
    return &current_context;
}

int fsp_fs_send_response(fsp_fs_t *fs, const fsp_response_t *response)
{
    (void)fs;
    if (!response)
        return -EINVAL;
    if (response->hint == 0)
        return -ENOENT;
    pthread_mutex_lock(&response_lock);
    last_response = *response;
    responses++;
    pthread_cond_broadcast(&response_cond);
    pthread_mutex_unlock(&response_lock);
    return 0;
}

unsigned selftest_wait_responses(unsigned count, unsigned timeout_ms,
                                 fsp_response_t *last)
{
    struct timespec until;
    unsigned got;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
    if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
    }
    pthread_mutex_lock(&response_lock);
    while (responses < count &&
           pthread_cond_timedwait(&response_cond, &response_lock, &until) == 0)
        ;
    got = responses;
    if (last)
        *last = last_response;
    pthread_mutex_unlock(&response_lock);
    return got;
}
