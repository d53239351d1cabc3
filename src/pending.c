/*
 * pending.c - requests completed later (FSP_PENDING). Placeholder: the
 * asynchronous path is being built; until then nothing is ever pending.
 */
#define _GNU_SOURCE
#include <errno.h>

#include "fs_internal.h"

FSP_API int fsp_fs_send_response(fsp_fs_t *fs, const fsp_response_t *response)
{
    (void)fs;
    return response ? -ENOENT : -EINVAL;
}
