/*
 * notify.c - change notification (placeholder, being built).
 */
#define _GNU_SOURCE
#include <errno.h>

#include "fs_internal.h"

FSP_API int fsp_fs_notify(fsp_fs_t *fs, const char *path, unsigned what)
{
    (void)fs;
    (void)path;
    (void)what;
    return -ESHUTDOWN;
}
